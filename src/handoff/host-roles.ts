import type { AppContext } from '../app-env'
import type { Next } from 'hono'
import { normaliseHost } from '../access/paths.ts'
import { requestUrl } from '../context'
import { GatewayError } from '../errors'
import { log } from '../log'
import { wantsHtml } from '../negotiate'
import { safeReturnTo } from '../redirect'
import { leaveForSignIn, signInOrigin } from './request'

// With SIGN_IN_HOST, each host has one job. The sign-in host serves the gateway's pages and no
// origin content (config.ts refuses a route naming it; the gate answers everything else there
// itself). An app host shares its browser origin with whatever its origin serves, so it keeps
// only what a person needs there: being sent to sign in (and to a second factor), the handoff,
// signing out, reading who is signed in, forward-auth, and the operator's bearer-token API. Sign-in
// steps, MFA enrolment and the sessions page are never reachable on it, so an origin's script on
// an app host cannot read a new TOTP secret, list or end sessions, or finish a sign-in there.
// The OAuth authorization server (/auth/oauth/*) is the sign-in host's alone, so it is not listed;
// each app host's protected-resource metadata is outside /auth/ and served there as anywhere.

const APP_HOST_PATHS = new Set([
  'GET /auth/login',
  'GET /auth/assets/gateway.css',
  'POST /auth/handoff',
  'POST /auth/logout',
  'GET /auth/me',
  'HEAD /auth/me',
  'GET /auth/verify',
  'POST /auth/webhooks/workos',
])

// Compared as routes compare hosts (case, a trailing dot): `gateway.test.` is the sign-in host too.
const isSignInHost = (c: AppContext, signInHost: string) =>
  normaliseHost(requestUrl(c).hostname) === signInHost

/** Middleware for /auth/*: on an app host, everything but the paths above goes elsewhere or 404. */
export async function appHostGatewayPaths(c: AppContext, next: Next) {
  const { signInHost } = c.get('config')
  if (!signInHost || isSignInHost(c, signInHost)) return next()
  const path = c.req.path
  if (APP_HOST_PATHS.has(`${c.req.method} ${path}`) || path.startsWith('/auth/admin/'))
    return next()
  if (c.req.method === 'GET' && path === '/auth/mfa') {
    // The second factor is checked on the sign-in host, whose session then hands this host a
    // fresh session that carries it.
    const returnTo = safeReturnTo(c.req.query('returnTo'))
    return c.redirect(await leaveForSignIn(c, returnTo, '', 'mfa'), 302)
  }
  const elsewhere = signInOrigin(c, signInHost)
  // The sessions page and the app launcher are the sign-in host's: a page goes there.
  const signInHostPage = path === '/auth/sessions' || path === '/auth/apps'
  if (c.req.method === 'GET' && signInHostPage && wantsHtml(c))
    return c.redirect(`${elsewhere}${path}`, 302)
  log({ event: 'refused_not_on_app_host' })
  throw new GatewayError(
    404,
    'sign_in_elsewhere',
    `Signing in and managing sessions happen at ${elsewhere}, not on this address.`,
  )
}

/** True on the sign-in host (with SIGN_IN_HOST set), where no origin content is ever served. */
export function onSignInHost(c: AppContext): boolean {
  const { signInHost } = c.get('config')
  return signInHost !== undefined && isSignInHost(c, signInHost)
}
