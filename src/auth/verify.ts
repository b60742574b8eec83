import type { Context } from 'hono'
import { ASSERTION_HEADER, signAssertion } from '../assertion/sign'
import { wantsHtml } from '../negotiate'
import { safeReturnTo } from '../redirect'
import { currentSession } from '../session/current'

/**
 * GET /auth/verify — forward-auth for nginx `auth_request`, Caddy `forward_auth`, Traefik
 * `ForwardAuth`: 200 with the identity headers and the assertion when the Cookie holds a live
 * session, else 401. With `?redirect=1` (Caddy, Traefik: they hand a non-2xx answer to the
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
