import type { AppContext } from '../app-env'
import { requestUrl } from '../context'
import { log } from '../log'
import { wantsHtml } from '../negotiate'
import { ForbiddenPage } from '../pages/forbidden'
import { safeReturnTo } from '../redirect'
import { leaveForSignIn } from '../handoff/request'
import type { CompiledRoute } from '../access/index.ts'
import { resourceMetadataUrl, takesBearer } from '../oauth/resources'
import { isWebSocketUpgrade, type AskedRequest, type GateMode } from './asked-request'
import type { Decided } from './decide-request'
import type { SignInReason } from './principal'

// The answers the gate gives instead of the origin's, one table for both of its modes (README
// "The answers"): a browser navigation is sent somewhere it can act; anything else gets JSON,
// never a page and never a redirect loop. Through the proxy a navigation is the request itself;
// at forward-auth it is one the proxy hands the answer to the browser for (`?redirect=1`: Caddy,
// Traefik), asking for the page of a forwarded GET.

/** Why the gate answers instead of the origin: the error code of the JSON answer. */
export type Refusal =
  | SignInReason
  | 'reauthentication_required'
  | 'mfa_required'
  | 'access_denied'
  | 'no_route'
  | 'bad_path'

/** Where a navigation goes instead: sign in, sign in again, the second factor, or a page. */
type Navigation = 'sign_in' | 'reauthenticate' | 'mfa' | 'forbidden_page' | 'not_found_page'

interface Answer {
  readonly status: 400 | 401 | 403 | 404
  /**
   * At forward-auth, where it differs: nginx's `auth_request` takes any answer but 2xx, 401 and
   * 403 for an error of its own (a 500 to the browser), so `no_route` is 403 there.
   */
  readonly forwardAuthStatus?: 403
  readonly message: string | ((denied: Denied) => string)
  /** Undefined: JSON for a navigation too. */
  readonly navigation?: Navigation
}

const ANSWERS: Record<Refusal, Answer> = {
  not_signed_in: { status: 401, message: 'Sign in to continue.', navigation: 'sign_in' },
  invalid_session_cookie: {
    status: 401,
    message: 'Your sign-in cookie is not valid. Sign in again.',
    navigation: 'sign_in',
  },
  session_expired: {
    status: 401,
    message: 'Your session has ended. Sign in again.',
    navigation: 'sign_in',
  },
  // A bearer token: an API client, never sent to a page.
  invalid_token: {
    status: 401,
    message:
      'The access token is not valid here: it has expired, was revoked, or is for another resource.',
  },
  reauthentication_required: {
    status: 401,
    message: 'This application asks for a recent sign-in. Sign in again.',
    navigation: 'reauthenticate',
  },
  mfa_required: {
    status: 401,
    message: 'This application asks for a second factor.',
    navigation: 'mfa',
  },
  // Names the account and the application, never the rule.
  access_denied: {
    status: 403,
    message: ({ account, application }) => `${account} may not use ${application}.`,
    navigation: 'forbidden_page',
  },
  no_route: {
    status: 404,
    forwardAuthStatus: 403,
    message: 'There is nothing at this address.',
    navigation: 'not_found_page',
  },
  bad_path: {
    status: 400,
    message:
      'This address has an encoding that could be read as another path (encoded "/", "\\", ".", double encoding, ";" or dot segments).',
  },
}

/** Who was refused, and by which application: for `access_denied`. */
export interface Denied {
  readonly account: string
  readonly application: string
}

const NOBODY_DENIED: Denied = Object.freeze({ account: '', application: '' })

/**
 * The gate's answer for `refusal` in this mode (`denied` for `access_denied`). Every refusal is
 * logged as `refused_<code>` and never cached.
 */
export function refuse(
  c: AppContext,
  mode: GateMode,
  asked: AskedRequest,
  refusal: Refusal,
  denied: Denied = NOBODY_DENIED,
  /** The route that decided: a 401 tells an API client where its token comes from. */
  route?: CompiledRoute,
): Response | Promise<Response> {
  log({ event: `refused_${refusal}` })
  c.header('Cache-Control', 'no-store')
  const answer = ANSWERS[refusal]
  const status = (mode === 'forward-auth' && answer.forwardAuthStatus) || answer.status
  const message = typeof answer.message === 'string' ? answer.message : answer.message(denied)
  const navigates = answer.navigation !== undefined && isNavigation(c, mode, asked)
  if (status === 401 && !navigates && route && takesBearer(route))
    c.header('WWW-Authenticate', bearerChallenge(c, asked, route, refusal))
  if (answer.navigation && navigates) {
    const returnTo = returnToOf(c, asked)
    switch (answer.navigation) {
      case 'sign_in':
        return signInRedirect(c, mode, returnTo)
      case 'reauthenticate':
        return c.redirect(loginHref(returnTo, 'reauth=1'), 302)
      case 'mfa':
        return c.redirect(`/auth/mfa?returnTo=${encodeURIComponent(returnTo)}`, 302)
      case 'forbidden_page':
        return c.html(
          ForbiddenPage({
            productName: c.get('config').productName,
            account: denied.account,
            application: denied.application,
            returnTo,
          }),
          status,
        )
      case 'not_found_page':
        return c.html(
          ForbiddenPage({ productName: c.get('config').productName, notFound: true }),
          status,
        )
    }
  }
  return c.json({ error: refusal, message }, status)
}

/** The answer to a request its route decided on and did not allow. */
export function refuseDecided(
  c: AppContext,
  mode: GateMode,
  asked: AskedRequest,
  { outcome, caller, route }: Decided,
): Response | Promise<Response> {
  // A token whose sign-in is too old or lacks the second factor cannot sign in again itself: its
  // client gets `invalid_token` and asks the person to authorize it anew.
  const bearer = caller.principal !== null && caller.bearer === true
  if (outcome === 'reauthenticate' || outcome === 'mfa_required') {
    const refusal = bearer
      ? 'invalid_token'
      : outcome === 'reauthenticate'
        ? 'reauthentication_required'
        : 'mfa_required'
    return refuse(c, mode, asked, refusal, NOBODY_DENIED, route)
  }
  if (outcome === 'deny')
    return refuse(c, mode, asked, 'access_denied', {
      account: caller.principal ? caller.account : '',
      application: route.name,
    })
  const refusal = caller.principal === null ? caller.reason : 'not_signed_in'
  return refuse(c, mode, asked, refusal, NOBODY_DENIED, route)
}

/**
 * RFC 9728 §5.1: where the resource's metadata is, so an MCP client or CLI finds the
 * authorization server from a bare 401; `error="invalid_token"` when a token was refused.
 */
function bearerChallenge(
  c: AppContext,
  asked: AskedRequest,
  route: CompiledRoute,
  refusal: Refusal,
): string {
  const origin = `${requestUrl(c).protocol}//${asked.host}`
  const metadata = resourceMetadataUrl(origin, route)
  return refusal === 'invalid_token'
    ? `Bearer resource_metadata="${metadata}", error="invalid_token"`
    : `Bearer resource_metadata="${metadata}"`
}

/**
 * A browser navigating: through the proxy a GET or HEAD asking for a page (never a WebSocket
 * upgrade or an API call); at forward-auth a forwarded GET asking for one, with `?redirect=1`.
 */
function isNavigation(c: AppContext, mode: GateMode, asked: AskedRequest): boolean {
  if (mode === 'forward-auth')
    return c.req.query('redirect') === '1' && asked.method === 'GET' && wantsHtml(c)
  return (
    (c.req.method === 'GET' || c.req.method === 'HEAD') && !isWebSocketUpgrade(c) && wantsHtml(c)
  )
}

/** A request asking for a WebSocket (RFC 6455 §4.1: only a GET may). */

/** An upgrade by any other method than GET: refused, never decided on one method and opened as GET. */
export function badUpgradeAnswer(c: AppContext): Response {
  log({ event: 'refused_bad_upgrade' })
  return c.json({ error: 'bad_upgrade', message: 'A WebSocket is opened with a GET request.' }, 400)
}

/** The path and query to come back to after signing in. */
function returnToOf(c: AppContext, asked: AskedRequest): string {
  if (asked.uri !== undefined) return safeReturnTo(asked.uri)
  const url = requestUrl(c)
  return safeReturnTo(url.pathname + url.search)
}

function loginHref(returnTo: string, extra = ''): string {
  const query = [returnTo === '/' ? '' : `returnTo=${encodeURIComponent(returnTo)}`, extra]
    .filter(Boolean)
    .join('&')
  return query ? `/auth/login?${query}` : '/auth/login'
}

/**
 * To sign in. Through the proxy, with a sign-in host, an app host sends the person there (with a
 * handoff request) directly. Forward-auth's answer reaches the browser on the proxy's hostname,
 * whose /auth/login (passed on to the gateway) does that itself.
 */
async function signInRedirect(c: AppContext, mode: GateMode, returnTo: string): Promise<Response> {
  const { signInHost } = c.get('config')
  if (mode === 'proxy' && signInHost && requestUrl(c).hostname !== signInHost)
    return c.redirect(await leaveForSignIn(c, returnTo), 302)
  return c.redirect(loginHref(returnTo), 302)
}
