import type { Context } from 'hono'
import { requestUrl } from '../context'
import { isEmailAllowed } from '../abuse/allow-list'
import { readFields } from '../body'
import { log } from '../log'
import { ConfirmPage } from '../pages/continue'
import { ErrorPage } from '../pages/error'
import { currentSession, sessionStore } from '../session/current'
import { startSession, type SignedInIdentity } from '../session/start'
import { organizationVouchesFor } from '../sso/organization-domains'
import { loggedWorkosFailure, withDeadline, workosClient } from '../workos'
import { isSameBrowser } from './browser-binding'
import { loginUrl } from './login'
import { verifyState, type SignInState } from './state'

const MAX_CODE_LENGTH = 512
// A session record carries the IdP's groups; past this many, the rest are dropped (and logged)
// rather than growing every session read.
const MAX_GROUPS = 100

/** Role slugs from a profile: `roles` when the IdP sends several, else the single `role`. */
function rolesOf(profile: { role?: { slug: string }; roles?: { slug: string }[] }): string[] {
  const slugs = profile.roles?.map((role) => role.slug) ?? (profile.role ? [profile.role.slug] : [])
  return [...new Set(slugs.filter((slug) => typeof slug === 'string'))]
}

/**
 * GET /auth/callback — where WorkOS sends the person after they open the link. In the browser
 * that asked for the link, signs in at once; in any other browser, first shows a page naming the
 * account and signs in only when the person confirms (POST /auth/callback). SSO signs in only in
 * the browser that started it.
 */
export async function handleCallback(c: Context) {
  const config = c.get('config')
  const rawState = c.req.query('state')
  const state = await verifyState(config.sessionSecrets, rawState)
  const returnTo = state?.returnTo ?? '/'

  // WorkOS redirects an expired or already-used link with error=access_denied; for SSO, the IdP
  // refused (access_denied) or the organization has no working connection (organization_invalid).
  if (c.req.query('error') !== undefined) {
    const sso = state?.flow === 'sso'
    log({ event: 'callback_refused', outcome: sso ? 'sso_refused' : 'link_expired' })
    return c.redirect(loginUrl({ error: sso ? 'sso_failed' : 'expired', returnTo }), 302)
  }
  const code = c.req.query('code')
  if (!code || code.length > MAX_CODE_LENGTH || !state || !rawState) {
    // No code, or a state we did not seal: do not spend the code on a flow we did not start.
    log({ event: 'callback_refused', outcome: state ? 'missing_code' : 'invalid_state' })
    return c.redirect(loginUrl({ error: 'auth_failed', returnTo }), 302)
  }
  if (!(await isSameBrowser(c, state.browser))) {
    if (state.flow === 'sso') return refuseSsoElsewhere(c, returnTo, 302)
    log({ event: 'callback_needs_confirmation' })
    c.header('Referrer-Policy', 'no-referrer')
    return c.html(
      ConfirmPage({ productName: config.productName, email: state.email, code, state: rawState }),
    )
  }
  return completeSignIn(c, code, state, 302)
}

/** POST /auth/callback — the confirmation from another browser (same-origin form only). */
export async function confirmCallback(c: Context) {
  const fields = await readFields(c)
  const state = await verifyState(
    c.get('config').sessionSecrets,
    typeof fields.state === 'string' ? fields.state : undefined,
  )
  const code = typeof fields.code === 'string' ? fields.code : ''
  if (!state || !code || code.length > MAX_CODE_LENGTH) {
    log({ event: 'callback_refused', outcome: state ? 'missing_code' : 'invalid_state' })
    return c.redirect(loginUrl({ error: 'auth_failed', returnTo: state?.returnTo }), 303)
  }
  // No SSO callback is ever confirmed from another browser (handleCallback never offers it).
  if (state.flow === 'sso') return refuseSsoElsewhere(c, state.returnTo, 303)
  return completeSignIn(c, code, state, 303)
}

/**
 * An SSO callback outside the browser that started it. The redirect from the IdP through WorkOS
 * never crosses browsers, so its URL seen anywhere else (an origin's service worker, a log, a
 * screen) is someone else's code: refused, the code unspent, and no page that would sign in on a
 * click. A link, which a person may open on another device, keeps its confirmation page.
 */
function refuseSsoElsewhere(c: Context, returnTo: string, status: 302 | 303) {
  log({ event: 'callback_refused', outcome: 'sso_other_browser' })
  return c.redirect(loginUrl({ error: 'sso_other_browser', returnTo }), status)
}

/**
 * Exchanges the code (an SSO code: `sso.getProfileAndToken`, with the client id passed
 * explicitly, since the SDK does not fall back to the constructor's for this call) and signs in.
 */
async function completeSignIn(c: Context, code: string, state: SignInState, status: 302 | 303) {
  const config = c.get('config')
  const { returnTo } = state
  const sso = state.flow === 'sso'
  let profile
  try {
    ;({ profile } = await withDeadline(
      config,
      workosClient(config).sso.getProfileAndToken({
        code,
        clientId: config.workosClientId,
        ...(state.codeVerifier && { codeVerifier: state.codeVerifier }),
      }),
    ))
  } catch (error) {
    const failure = loggedWorkosFailure('callback_failed', error)
    if (failure.kind === 'unavailable' || failure.kind === 'rate_limited') {
      // WorkOS did not answer: the code may still be good, so offer the same step again rather
      // than sending the person back to ask for a new email.
      const retryAfter = failure.kind === 'rate_limited' ? failure.retryAfterSeconds : 5
      c.header('Retry-After', String(retryAfter))
      c.header('Cache-Control', 'no-store')
      const retryHref =
        status === 302 ? `${requestUrl(c).pathname}${requestUrl(c).search}` : undefined
      return c.html(
        ErrorPage({
          status: 503,
          message: 'Sign-in is temporarily unavailable. Please try again in a moment.',
          ...(retryHref && { retryHref }),
        }),
        503,
      )
    }
    const reason = sso ? 'sso_failed' : failure.kind === 'invalid_grant' ? 'expired' : 'auth_failed'
    return c.redirect(loginUrl({ error: reason, returnTo }), status)
  }
  const email = profile.email.toLowerCase()
  // A link proves the address it was sent to. SSO proves membership of the organization the
  // person was sent to (the IdP may know them by another address than the one typed).
  const matches = sso
    ? profile.organizationId !== undefined && profile.organizationId === state.organizationId
    : email === state.email.toLowerCase()
  if (!matches || !isEmailAllowed(config, email)) {
    log({ event: 'callback_refused', outcome: 'identity_mismatch_or_not_allowed' })
    return c.redirect(loginUrl({ error: sso ? 'sso_failed' : 'auth_failed', returnTo }), status)
  }
  // A tenant's IdP may assert any address; only one at its organization's verified domains is
  // taken, so it cannot sign in as (or into the sessions, rules and revocations of) someone else.
  if (sso && !(await organizationVouchesFor(c, profile.organizationId!, email))) {
    log({ event: 'callback_refused', outcome: 'sso_email_outside_organization_domains' })
    return c.redirect(loginUrl({ error: 'sso_outside_domains', returnTo }), status)
  }
  await signInAs(c, {
    userId: profile.id,
    email,
    firstName: profile.firstName ?? null,
    lastName: profile.lastName ?? null,
    method: sso ? 'sso' : 'magic_link',
    ...(sso && {
      sso: {
        organizationId: profile.organizationId!,
        connectionId: profile.connectionId,
        roles: rolesOf(profile),
        groups: (profile.groups ?? []).map(String).slice(0, MAX_GROUPS),
      },
    }),
  })
  return c.redirect(returnTo, status)
}

/**
 * Replaces whatever session this browser had with a new one (fresh id, no fixation).
 * Shared by both sign-in methods.
 */
export async function signInAs(c: Context, identity: SignedInIdentity): Promise<void> {
  const previous = await currentSession(c, { refresh: false })
  if (previous.state === 'active') await sessionStore(c).delete(previous.sessionId)
  const record = await startSession(c, identity)
  log({ event: 'signed_in', signInMethod: identity.method, sid: record.sid })
}
