import type { AppContext } from '../app-env'
import { OPERATOR } from '../audit/actors'
import { audit } from '../audit/record'
import { readFields } from '../body'
import { normaliseEmail } from '../email'
import { GatewayError } from '../errors'
import { log } from '../log'
import { factorOf, forgetFactor } from '../mfa/factor-store'
import { personKeyOf } from '../session/store'
import { withDeadline, workosClient } from '../workos'

/**
 * POST /auth/admin/mfa/reset — `{"email"}`: removes a person's second factor (a lost phone), so
 * their next visit to a route that asks for one enrols a new authenticator. Sessions that already
 * passed the factor keep it; revoke them too (POST /auth/admin/revoke) if the phone was stolen.
 */
export async function resetMfa(c: AppContext) {
  const fields = await readFields(c)
  const email = normaliseEmail(fields.email)
  if (!email.ok) throw new GatewayError(400, 'invalid_email', email.problem)
  const personKey = await personKeyOf(email.email)
  const kv = c.env.SESSIONS
  const factor = await factorOf(kv, personKey)
  if (!factor) return c.json({ success: true, reset: false })
  await forgetFactor(kv, personKey)
  const config = c.get('config')
  // Best effort at WorkOS: the gateway no longer refers to the factor either way.
  await withDeadline(
    config,
    workosClient(config).multiFactorAuth.deleteFactor(factor.factorId),
  ).catch(() => log({ event: 'mfa_factor_delete_failed' }))
  log({ event: 'mfa_reset' })
  audit(c, {
    action: 'gateway.mfa.reset',
    actor: OPERATOR,
    targets: [{ type: 'mfa_factor', id: factor.factorId, name: email.email }],
  })
  return c.json({ success: true, reset: true })
}
