import type { AppContext } from '../app-env'
import { OPERATOR } from '../audit/actors'
import type { AuditTarget } from '../audit/event'
import { audit } from '../audit/record'
import { readFields } from '../body'
import { normaliseEmail } from '../email'
import { GatewayError } from '../errors'
import { log } from '../log'
import { sessionStore } from '../session/current'
import { revokeAllForPerson } from '../session/revoke'
import { personKeyOf } from '../session/store'

/**
 * POST /auth/admin/revoke — an operator ends every session of a person:
 * `Authorization: Bearer <ADMIN_TOKEN>`, body `{"email"}` or `{"userId"}` (a user_… or prof_… id).
 * Off (404) unless ADMIN_TOKEN is set.
 */
export async function adminRevoke(c: AppContext) {
  const fields = await readFields(c)
  let personKey: string | null = null
  let person: AuditTarget
  if (fields.email !== undefined) {
    const email = normaliseEmail(fields.email)
    if (!email.ok) throw new GatewayError(400, 'invalid_email', email.problem)
    personKey = await personKeyOf(email.email)
    person = { type: 'user', id: email.email, name: email.email }
  } else if (
    typeof fields.userId === 'string' &&
    /^(user|prof)_[A-Za-z0-9]+$/.test(fields.userId)
  ) {
    person = { type: 'user', id: fields.userId }
    personKey = await sessionStore(c).personForUserId(fields.userId)
    if (!personKey) return c.json({ success: true, revoked: 0 })
  } else {
    throw new GatewayError(400, 'invalid_body', 'Send {"email": "…"} or {"userId": "user_…"}.')
  }
  const revoked = await revokeAllForPerson(sessionStore(c), personKey)
  log({ event: 'admin_revoked', revoked })
  audit(c, {
    action: 'gateway.session.ended',
    actor: OPERATOR,
    // The person as the operator named them: every session of theirs ended.
    targets: [person],
    metadata: { by: 'admin', scope: 'person', revoked },
  })
  return c.json({ success: true, revoked })
}
