import type { AppContext } from '../app-env'
import { requestUrl } from '../context'
import { LoginPage, type LoginNotice } from '../pages/login'
import { safeReturnTo } from '../redirect'
import { currentSession } from '../session/current'
import { GatewayError } from '../errors'
import { leaveForSignIn, readHandoffRequest } from '../handoff/request'
import { log } from '../log'

const NOTICES = new Set([
  'expired',
  'auth_failed',
  'code_expired',
  'sso_failed',
  'sso_unavailable',
  'sso_outside_domains',
  'sso_other_browser',
  'handoff_failed',
])

/** The `returnTo` query parameter, validated: a same-origin path, else "/". */
const returnToFrom = (c: AppContext) => safeReturnTo(c.req.query('returnTo'))

/** GET /auth/login — the email form. Someone already signed in goes straight on. */
export async function showLogin(c: AppContext) {
  let returnTo = returnToFrom(c)
  // An application that asks for a recent sign-in sends people here with reauth=1: show the
  // form even to someone signed in (sending them straight back would loop).
  const reauth = c.req.query('reauth') === '1'
  const config = c.get('config')
  if (config.signInHost) {
    const here = requestUrl(c).hostname
    // An app host never signs anyone in itself: off to the sign-in host, with a handoff request
    // (and what the sign-in page should say).
    if (here !== config.signInHost) {
      const error = c.req.query('error')
      const extra = [
        reauth ? 'reauth=1' : '',
        error && NOTICES.has(error) ? `error=${error}` : '',
        c.req.query('signed_out') === '1' ? 'signed_out=1' : '',
      ]
      return c.redirect(await leaveForSignIn(c, returnTo, extra.filter(Boolean).join('&')), 302)
    }
    // The sign-in host, asked by an app host: after signing in (or at once, when already signed
    // in), the handoff continues; a host that is not configured is refused here.
    if (here === config.signInHost && c.req.query('host') !== undefined) {
      const sealed = c.req.query('h')
      const request = await readHandoffRequest(c, sealed)
      if (!request || request.host !== c.req.query('host')) {
        log({ event: 'handoff_refused', outcome: 'host_not_configured_or_bad_request' })
        throw new GatewayError(
          400,
          'invalid_handoff',
          'That application is not one this sign-in serves, or the request has expired. Go back to the application and try again.',
        )
      }
      returnTo = `/auth/handoff/start?h=${encodeURIComponent(sealed!)}`
    }
  }
  // Just signed out (on any host): the form, never a silent sign-in with a session that
  // outlived the sign-out (a shared device must stay signed out).
  const signedOut = c.req.query('signed_out') === '1'
  if (!reauth && !signedOut) {
    const session = await currentSession(c)
    if (session.state === 'active') return c.redirect(returnTo, 302)
  }
  const error = c.req.query('error')
  const notice: LoginNotice =
    error && NOTICES.has(error)
      ? (error as LoginNotice)
      : reauth
        ? returnTo.startsWith('/auth/mfa?')
          ? 'reauth_mfa'
          : 'reauth'
        : signedOut
          ? 'signed_out'
          : undefined
  return c.html(
    LoginPage({ productName: config.productName, methods: config.signInMethods, returnTo, notice }),
  )
}

/**
 * GET to a login button's action (/auth/magic-link, /auth/magic-auth: a bookmark, a reload of the
 * form's answer): the form, instead of a 404.
 */
export function backToLoginForm(c: AppContext) {
  return c.redirect(`/auth/login?returnTo=${encodeURIComponent(returnToFrom(c))}`, 302)
}
