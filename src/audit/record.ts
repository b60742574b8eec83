import type { AppContext } from '../app-env'
import { inBackground } from '../background'
import { clientIp } from '../context'
import type { AuditAction } from './actions'
import type { AuditActor, AuditMessage, AuditMetadata, AuditTarget } from './event'
import { logAudit } from './log-line'

/** What happened, as the code that saw it tells it. */
export interface Occurrence {
  action: AuditAction
  actor: AuditActor
  targets: AuditTarget[]
  /** Request id, route and rule are added here; undefined values are left out. */
  metadata?: Record<string, string | number | boolean | undefined>
  /** The person's own WorkOS organization (SSO), before AUDIT_ORGANIZATION_ID. */
  organizationId?: string | undefined
  /**
   * What makes this occurrence one, when it is not the request itself: an occurrence that two
   * isolates may both see names it, so that WorkOS keeps one event however many times it is
   * sent. With `until`, it is also a KV key the consumer remembers the occurrence under until
   * then (a session's first access to a route, for the session's life).
   */
  once?: string | { key: string; until: number }
}

// WorkOS's limits on metadata values.
const MAX_VALUE = 500
const MAX_USER_AGENT = 512

/**
 * Records an occurrence: queued for WorkOS Audit Logs (src/audit/deliver.ts) after the answer,
 * so no request waits on it. Without the AUDIT_EVENTS queue or an organization to file it
 * under, or if the queue refuses it, it goes to the log as an audit line instead: never lost
 * silently.
 */
export function audit(c: AppContext, occurrence: Occurrence): void {
  const requestId = c.get('requestId')
  const metadata: AuditMetadata = { request_id: requestId }
  for (const [key, value] of Object.entries(occurrence.metadata ?? {})) {
    if (value === undefined) continue
    metadata[key] = typeof value === 'string' ? value.slice(0, MAX_VALUE) : value
  }
  const userAgent = c.req.header('user-agent')?.slice(0, MAX_USER_AGENT)
  const event = {
    action: occurrence.action,
    version: 1 as const,
    occurredAt: new Date().toISOString(),
    actor: occurrence.actor,
    targets: occurrence.targets,
    context: { location: clientIp(c), ...(userAgent && { userAgent }) },
    metadata,
  }
  const organizationId = occurrence.organizationId ?? c.get('config').auditOrganizationId
  const queue = (c.env as { AUDIT_EVENTS?: Queue<AuditMessage> }).AUDIT_EVENTS
  inBackground(
    c,
    (async () => {
      const idempotencyKey = await keyOf(occurrence, requestId)
      if (!organizationId || !queue) {
        logAudit(
          { organizationId, idempotencyKey, event },
          organizationId ? 'no_queue' : 'no_organization',
        )
        return
      }
      const message: AuditMessage = {
        organizationId,
        idempotencyKey,
        event,
        ...(typeof occurrence.once === 'object' && { once: occurrence.once }),
      }
      await queue.send(message).catch(() => logAudit(message, 'queue_refused'))
    })(),
  )
}

/**
 * The same occurrence always gives the same key; two occurrences never do. UUID-shaped (the first
 * 16 bytes of a SHA-256 of what makes the occurrence one), as WorkOS suggests for its keys.
 */
async function keyOf(occurrence: Occurrence, requestId: string): Promise<string> {
  const what = occurrence.targets.map((target) => `${target.type}:${target.id}`).join(',')
  const once = typeof occurrence.once === 'object' ? occurrence.once.key : occurrence.once
  const seed = `${occurrence.action}\n${once ?? requestId}\n${what}`
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', ENCODER.encode(seed)))
  const hex = Array.from(digest.subarray(0, 16), (byte) => byte.toString(16).padStart(2, '0'))
  const text = hex.join('')
  return `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20)}`
}

const ENCODER = new TextEncoder()
