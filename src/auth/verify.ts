import type { Context } from 'hono'
import { ASSERTION_HEADER, signAssertion } from '../assertion/sign'
import { wantsHtml } from '../negotiate'
import { safeReturnTo } from '../redirect'
import { sameSecret } from '../secret-compare'
import { currentSession } from '../session/current'

/**
 * GET /auth/verify — forward-auth for nginx `auth_request`, Caddy `forward_auth`, Traefik
 * `ForwardAuth`: 200 with the identity headers when the Cookie holds a live session (and the
 * assertion, when the proxy sends FORWARD_AUTH_TOKEN as X-Forward-Auth-Token), else 401. With `?redirect=1` (Caddy, Traefik: they hand a non-2xx answer to the
 * browser), a browser navigation gets a 302 to the sign-in page instead. X-Forwarded-Uri /
 * X-Original-URI only ever choose that returnTo, never the decision.
 */
export async function forwardAuth(c: Context) {
  c.header('Cache-Control', 'no-store')
  const session = await currentSession(c)
  if (session.state === 'active') {
    const { record } = session
    c.header('X-Auth-User', record.userId)
    c.header('X-Auth-Email', record.email)
    // The assertion goes only to a proxy that proves it is one: any page on this hostname can
    // fetch /auth/verify, and must not walk away with a token it could replay to an origin.
    const token = c.get('config').forwardAuthToken
    const proxyToken = c.req.header('x-forward-auth-token')
    if (token && proxyToken && (await sameSecret(proxyToken, token)))
      c.header(ASSERTION_HEADER, await signAssertion(c, record))
    return c.body(null, 200)
  }
  const method = c.req.header('x-forwarded-method') ?? c.req.method
  if (c.req.query('redirect') === '1' && method === 'GET' && wantsHtml(c)) {
    const uri = c.req.header('x-forwarded-uri') ?? c.req.header('x-original-uri')
    const returnTo = safeReturnTo(uri)
    return c.redirect(
      returnTo === '/' ? '/auth/login' : `/auth/login?returnTo=${encodeURIComponent(returnTo)}`,
      302,
    )
  }
  return c.json({ error: 'not_signed_in', message: 'Sign in to continue.' }, 401)
}
