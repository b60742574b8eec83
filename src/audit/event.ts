import type { AuditAction } from './actions'

// The event as WorkOS Audit Logs takes it (the SDK's createEvent options), with `occurredAt` as
// an ISO string so that it survives the queue unchanged.

export interface AuditActor {
  /** `user` (a person, by WorkOS user or profile id), `service_token`, `oauth_client`, `operator`, `email` (a sign-in that never got an id). */
  type: 'user' | 'service_token' | 'oauth_client' | 'operator' | 'email' | 'webhook' | 'gateway'
  id: string
  name?: string
}

export interface AuditTarget {
  type:
    | 'session'
    | 'route'
    | 'sign_in_method'
    | 'mfa_factor'
    | 'service_token'
    | 'oauth_grant'
    | 'oauth_client'
    | 'admin_api'
    | 'user'
    | 'workos_event'
  id: string
  name?: string
}

export type AuditMetadata = Record<string, string | number | boolean>

export interface AuditEvent {
  action: AuditAction
  version: 1
  occurredAt: string
  actor: AuditActor
  targets: AuditTarget[]
  context: { location: string; userAgent?: string }
  metadata: AuditMetadata
}

/** One occurrence on its way to WorkOS: what the queue carries. */
export interface AuditMessage {
  organizationId: string
  /** Derived from the occurrence: a delivery retried, or sent twice, is one event at WorkOS. */
  idempotencyKey: string
  event: AuditEvent
  /**
   * An occurrence that happens once in a long while (a session's first access to a route): the
   * consumer posts it only if this KV key is absent, then writes it, kept until `until` (epoch ms).
   */
  once?: { key: string; until: number }
}
