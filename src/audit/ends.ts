import type { AppContext } from '../app-env'
import type { SessionRecord } from '../session/record'
import { sessionTarget } from './actors'
import type { AuditActor } from './event'
import { audit } from './record'

/**
 * Who ended a session or an OAuth grant: its person, an operator, WorkOS (a webhook, or the
 * events poll), the grant's own client, or the gateway (a replayed code or refresh token).
 */
export type EndedBy = 'person' | 'admin' | 'webhook' | 'events_poll' | 'client' | 'gateway'

/**
 * A session or OAuth grant ended by someone else than its own sign-out: `gateway.session.ended`,
 * or `gateway.oauth_grant.revoked` for a grant, with who ended it.
 */
export function auditEnded(
  c: AppContext,
  record: SessionRecord,
  by: EndedBy,
  actor: AuditActor,
  metadata: Record<string, string | number | boolean | undefined> = {},
): void {
  audit(c, {
    action: record.oauth ? 'gateway.oauth_grant.revoked' : 'gateway.session.ended',
    actor,
    targets: [sessionTarget(record), { type: 'user', id: record.userId, name: record.email }],
    metadata: { by, session: record.sid, client_id: record.oauth?.clientId, ...metadata },
    organizationId: record.organizationId,
  })
}
