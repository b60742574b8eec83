import type { Context } from 'hono'
import { requestUrl } from '../context'
import { log } from '../log'
import { wantsHtml } from '../negotiate'
import { ForbiddenPage } from '../pages/forbidden'
import { safeReturnTo } from '../redirect'
import { leaveForSignIn } from '../handoff/request'

// The answers the gate gives instead of the origin's, one place for each (README "The answers"):
// a browser navigation is sent somewhere it can act; anything else gets JSON, never a page and
// never a redirect loop.

export type SignInReason = 'not_signed_in' | 'invalid_session_cookie' | 'session_expired'

const SIGN_IN_MESSAGES: Record<SignInReason, string> = {
  not_signed_in: 'Sign in to continue.',
  invalid_session_cookie: 'Your sign-in cookie is not valid. Sign in again.',
  session_expired: 'Your session has ended. Sign in again.',
}

/** A GET or HEAD that a browser is navigating with (never a WebSocket upgrade or an API call). */
export function isNavigation(c: Context): boolean {
  return (
    (c.req.method === 'GET' || c.req.method === 'HEAD') && !isWebSocketUpgrade(c) && wantsHtml(c)
  )
}

/** A request asking for a WebSocket (RFC 6455 §4.1: only a GET may). */
export const isWebSocketUpgrade = (c: Context) =>
  (c.req.header('upgrade') ?? '').toLowerCase() === 'websocket'

/** An upgrade by any other method than GET: refused, never decided on one method and opened as GET. */
export function badUpgradeAnswer(c: Context): Response | undefined {
  if (!isWebSocketUpgrade(c) || c.req.method === 'GET') return undefined
  log({ event: 'refused_bad_upgrade' })
  return c.json({ error: 'bad_upgrade', message: 'A WebSocket is opened with a GET request.' }, 400)
}

/** The path and query to come back to after signing in. */
function returnToOf(c: Context): string {
  const url = requestUrl(c)
  return safeReturnTo(url.pathname + url.search)
}

function loginHref(returnTo: string, extra = ''): string {
  const query = [returnTo === '/' ? '' : `returnTo=${encodeURIComponent(returnTo)}`, extra]
    .filter(Boolean)
    .join('&')
  return query ? `/auth/login?${query}` : '/auth/login'
}

/** No session (or a dead one): a navigation goes to sign in, anything else gets 401 JSON. */
export async function signInAnswer(c: Context, reason: SignInReason): Promise<Response> {
  log({ event: `refused_${reason}` })
  c.header('Cache-Control', 'no-store')
  if (isNavigation(c)) {
    // With a sign-in host, an app host sends the person there (with a handoff request) directly.
    const { signInHost } = c.get('config')
    if (signInHost && requestUrl(c).hostname !== signInHost)
      return c.redirect(await leaveForSignIn(c, returnToOf(c)), 302)
    return c.redirect(loginHref(returnToOf(c)), 302)
  }
  return c.json({ error: reason, message: SIGN_IN_MESSAGES[reason] }, 401)
}

/** Signed in, but the sign-in is older than the route allows. */
export function reauthenticateAnswer(c: Context): Response {
  log({ event: 'refused_reauthentication_required' })
  c.header('Cache-Control', 'no-store')
  if (isNavigation(c)) return c.redirect(loginHref(returnToOf(c), 'reauth=1'), 302)
  return c.json(
    {
      error: 'reauthentication_required',
      message: 'This application asks for a recent sign-in. Sign in again.',
    },
    401,
  )
}

/** The route needs a second factor this session has not passed. */
export function mfaAnswer(c: Context): Response {
  log({ event: 'refused_mfa_required' })
  c.header('Cache-Control', 'no-store')
  if (isNavigation(c))
    return c.redirect(`/auth/mfa?returnTo=${encodeURIComponent(returnToOf(c))}`, 302)
  return c.json(
    { error: 'mfa_required', message: 'This application asks for a second factor.' },
    401,
  )
}

/**
 * Signed in (or a service token), and refused. The page names the account and the application,
 * never the rule, and offers to sign in with another account.
 */
export function forbiddenAnswer(
  c: Context,
  who: { account: string },
  application: string,
): Response | Promise<Response> {
  log({ event: 'refused_access_denied' })
  c.header('Cache-Control', 'no-store')
  const message = `${who.account} may not use ${application}.`
  if (isNavigation(c)) {
    return c.html(
      ForbiddenPage({
        productName: c.get('config').productName,
        account: who.account,
        application,
        returnTo: returnToOf(c),
      }),
      403,
    )
  }
  return c.json({ error: 'access_denied', message }, 403)
}

export function noRouteAnswer(c: Context): Response | Promise<Response> {
  log({ event: 'refused_no_route' })
  c.header('Cache-Control', 'no-store')
  const message = 'There is nothing at this address.'
  if (isNavigation(c)) {
    return c.html(ForbiddenPage({ productName: c.get('config').productName, notFound: true }), 404)
  }
  return c.json({ error: 'no_route', message }, 404)
}

export function badPathAnswer(c: Context): Response {
  log({ event: 'refused_bad_path' })
  c.header('Cache-Control', 'no-store')
  return c.json(
    {
      error: 'bad_path',
      message:
        'This address has an encoding that could be read as another path (encoded "/", "\\", ".", double encoding, ";" or dot segments).',
    },
    400,
  )
}
