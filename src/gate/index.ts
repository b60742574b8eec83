import type { Context } from 'hono'
import { policyGate } from './policy-gate'
import { sessionGate } from './session-gate'

/**
 * Everything that is not the gateway's own: decided by ACCESS when it is set, else the session
 * gate (PUBLIC_PATHS public, any signed-in person for the rest).
 */
export function gateAndForward(c: Context): Promise<Response> {
  return c.get('config').access ? policyGate(c) : sessionGate(c)
}
