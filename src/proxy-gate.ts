import type { Context } from 'hono'
import type { PublicPath } from './config'
import { forwardToOrigin } from './proxy'
import { safeReturnTo } from './redirect'
import { currentSession } from './session/current'
import { log } from './log'
import { wantsHtml } from './negotiate'

// Encoded "/", "\" or ".", ";" path parameters, and escapes that a second decoding pass (an
// encoded "%": /pub/%252e%252e/admin) or IIS-style %u escapes turn into one of those, can be read
// by the origin as a different path (/assets/..%2Fadmin); such paths never count as public, so
// they need a session.
const AMBIGUOUS_PATH = /%2f|%5c|%2e|%25|%u|;|\\/i

export function isPublicPath(path: string, publicPaths: readonly PublicPath[]): boolean {
  if (publicPaths.length === 0 || AMBIGUOUS_PATH.test(path)) return false
  return publicPaths.some((entry) =>
    entry.prefix ? path.startsWith(entry.path) : path === entry.path,
  )
}

const UNAUTHENTICATED_MESSAGES = {
  not_signed_in: 'Sign in to continue.',
  invalid_session_cookie: 'Your sign-in cookie is not valid. Sign in again.',
  session_expired: 'Your session has ended. Sign in again.',
} as const

/**
 * Everything that is not the gateway's own: public paths pass straight through; the rest needs a
 * session. A browser navigation without one goes to the sign-in page; anything else gets 401 JSON.
 */
export async function gateAndForward(c: Context): Promise<Response> {
  const url = new URL(c.req.url)
  if (isPublicPath(url.pathname, c.get('config').publicPaths)) return forwardToOrigin(c, null)

  const session = await currentSession(c)
  if (session.state === 'active') return forwardToOrigin(c, session.record)

  const reason =
    session.state === 'absent'
      ? 'not_signed_in'
      : session.state === 'invalid_cookie'
        ? 'invalid_session_cookie'
        : 'session_expired'
  log({ event: `refused_${reason}` })
  const isNavigation = (c.req.method === 'GET' || c.req.method === 'HEAD') && wantsHtml(c)
  if (isNavigation) {
    const returnTo = safeReturnTo(url.pathname + url.search)
    const target =
      returnTo === '/' ? '/auth/login' : `/auth/login?returnTo=${encodeURIComponent(returnTo)}`
    c.header('Cache-Control', 'no-store')
    return c.redirect(target, 302)
  }
  // Never a page for an API call: JSON whatever it accepts.
  c.header('Cache-Control', 'no-store')
  return c.json({ error: reason, message: UNAUTHENTICATED_MESSAGES[reason] }, 401)
}
