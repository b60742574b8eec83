import type { Context } from 'hono'
import { onSignInHost } from '../handoff/host-roles'
import { log } from '../log'
import { noRouteAnswer } from './answers'
import { policyGate } from './policy-gate'
import { sessionGate } from './session-gate'

/**
 * Everything that is not the gateway's own: decided by ACCESS when it is set, else the session
 * gate (PUBLIC_PATHS public, any signed-in person for the rest). The sign-in host (SIGN_IN_HOST)
 * serves no origin content, whatever a route with a wildcard or no host would say: its home is the
 * person's sessions page, and anything else there is not found.
 */
export async function gateAndForward(c: Context): Promise<Response> {
  if (onSignInHost(c)) {
    log({ decision: 'sign_in_host' })
    if (c.req.path === '/' && (c.req.method === 'GET' || c.req.method === 'HEAD'))
      return c.redirect('/auth/sessions', 302)
    return noRouteAnswer(c)
  }
  return c.get('config').access ? policyGate(c) : sessionGate(c)
}
