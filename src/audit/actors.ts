import type { ForwardIdentity } from '../assertion/sign'
import type { SessionRecord } from '../session/record'
import type { AuditActor, AuditTarget } from './event'

// Who and what, as audit events name them: ids WorkOS knows (user, organization), the gateway's
// own non-secret handles (a session's `sid`, a service token's id), never a secret.

/** A signed-in person, from their session, or an OAuth client's grant acting as them. */
export const personActor = (person: { userId: string; email: string }): AuditActor => ({
  type: 'user',
  id: person.userId,
  name: person.email,
})

/** Whoever a gate decision was about: a person (a session or a grant), or a service token. */
export const callerActor = (identity: ForwardIdentity): AuditActor =>
  identity.kind === 'person'
    ? personActor(identity)
    : { type: 'service_token', id: identity.id, name: identity.name }

export const sessionTarget = (record: Pick<SessionRecord, 'sid' | 'oauth'>): AuditTarget =>
  record.oauth
    ? { type: 'oauth_grant', id: record.sid, name: record.oauth.clientName }
    : { type: 'session', id: record.sid }

/** The one operator credential: ADMIN_TOKEN. */
export const OPERATOR: AuditActor = Object.freeze({ type: 'operator', id: 'admin_token' })

/** The gateway itself, acting on what it saw (a replayed code or refresh token). */
export const GATEWAY: AuditActor = Object.freeze({ type: 'gateway', id: 'gateway' })
