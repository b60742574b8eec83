import type { AppContext } from '../app-env'
import { requestUrl } from '../context'
import { isEmailAllowed } from '../abuse/allow-list'
import { readFields } from '../body'
import { auditRefusedSignIn } from '../audit/sign-in'
import { log } from '../log'
import { ConfirmPage } from '../pages/continue'
import { ErrorPage } from '../pages/error'
import { loggedWorkosFailure, withDeadline, workosClient } from '../workos'
import { isSameBrowser } from './browser-binding'
import { loginUrl } from './login-form'
import type { CallbackChecks, Refusal } from './method-module'
import { SIGN_IN_METHODS, type CallbackFlow } from './methods'
import { SIGN_IN_MODULES } from './modules'
import { signInAs } from './success'
import { verifyState, type SignInState } from './state'

// Where WorkOS sends a person back, for every method that leaves through it (registry:
// `callback`): this step checks the sealed state and the browser, and exchanges the code; the
// method the state's `flow` names decides what the profile must prove (its module's `callback`).

const MAX_CODE_LENGTH = 512

/**
 * A refused callback in the audit trail: one event per browser, method and address (or
 * organization), however often its sealed state is replayed.
 */
const auditRefused = (c: AppContext, state: SignInState, reason: string) =>
  auditRefusedSignIn(c, {
    method: flowOf(state),
    reason,
    email: state.email,
    organizationId: state.organizationId,
    once: `state:${state.browser}:${flowOf(state)}:${state.organizationId ?? state.email}`,
  })

/** The method a callback belongs to; without a readable state, a link (an old link: "expired"). */
const flowOf = (state: SignInState | null): CallbackFlow => state?.flow ?? 'link'

const checksFor = (state: SignInState | null): CallbackChecks =>
  SIGN_IN_MODULES[flowOf(state)].callback

/**
 * GET /auth/callback — where WorkOS sends the person after they open the link. In the browser
 * that asked for the link, signs in at once; in any other browser, first shows a page naming the
 * account and signs in only when the person confirms (POST /auth/callback). SSO signs in only in
 * the browser that started it.
 */
export async function handleCallback(c: AppContext) {
  const config = c.get('config')
  const rawState = c.req.query('state')
  const state = await verifyState(config.sessionSecrets, rawState)
  const returnTo = state?.returnTo ?? '/'
  const checks = checksFor(state)

  // WorkOS redirects an expired or already-used link with error=access_denied; for SSO, the IdP
  // refused (access_denied) or the organization has no working connection (organization_invalid).
  if (c.req.query('error') !== undefined) {
    log({ event: 'callback_refused', outcome: checks.refusedOutcome })
    if (state) auditRefused(c, state, checks.refusedOutcome)
    return c.redirect(loginUrl({ error: checks.expired ?? checks.failed, returnTo }), 302)
  }
  const code = c.req.query('code')
  if (!code || code.length > MAX_CODE_LENGTH || !state || !rawState) {
    // No code, or a state we did not seal: do not spend the code on a flow we did not start.
    log({ event: 'callback_refused', outcome: state ? 'missing_code' : 'invalid_state' })
    return c.redirect(loginUrl({ error: 'auth_failed', returnTo }), 302)
  }
  if (!(await isSameBrowser(c, state.browser))) {
    if (checks.otherBrowser !== 'confirm') return refused(c, state, checks.otherBrowser, 302)
    log({ event: 'callback_needs_confirmation' })
    c.header('Referrer-Policy', 'no-referrer')
    return c.html(
      ConfirmPage({ productName: config.productName, email: state.email, code, state: rawState }),
    )
  }
  return completeSignIn(c, code, state, 302)
}

/** POST /auth/callback — the confirmation from another browser (same-origin form only). */
export async function confirmCallback(c: AppContext) {
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
  // A method that is never confirmed from another browser (handleCallback never offers it).
  const { otherBrowser } = checksFor(state)
  if (otherBrowser !== 'confirm') return refused(c, state, otherBrowser, 303)
  return completeSignIn(c, code, state, 303)
}

function refused(c: AppContext, state: SignInState, refusal: Refusal, status: 302 | 303) {
  log({ event: 'callback_refused', outcome: refusal.outcome })
  auditRefused(c, state, refusal.outcome)
  return c.redirect(loginUrl({ error: refusal.notice, returnTo: state.returnTo }), status)
}

/**
 * Exchanges the code (an SSO code: `sso.getProfileAndToken`, with the client id passed
 * explicitly, since the SDK does not fall back to the constructor's for this call) and signs in.
 */
async function completeSignIn(c: AppContext, code: string, state: SignInState, status: 302 | 303) {
  const config = c.get('config')
  const { returnTo } = state
  const checks = checksFor(state)
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
    const reason =
      failure.kind === 'invalid_grant' ? (checks.expired ?? checks.failed) : checks.failed
    auditRefused(c, state, reason)
    return c.redirect(loginUrl({ error: reason, returnTo }), status)
  }
  const email = profile.email.toLowerCase()
  // Whom the sign-in proved is the method's to check (a link: the address; SSO: the organization).
  if (!checks.proves(profile, state, email) || !isEmailAllowed(config, email))
    return refused(
      c,
      state,
      { outcome: 'identity_mismatch_or_not_allowed', notice: checks.failed },
      status,
    )
  const accepted = await checks.accept(c, profile, email)
  if ('outcome' in accepted) return refused(c, state, accepted, status)
  await signInAs(c, {
    userId: profile.id,
    email,
    firstName: profile.firstName ?? null,
    lastName: profile.lastName ?? null,
    method: SIGN_IN_METHODS[flowOf(state)].stored,
    ...accepted,
  })
  return c.redirect(returnTo, status)
}
