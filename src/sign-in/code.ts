import type { AppContext } from '../app-env'
import { countWrongGuess, enforceGuessLimit } from '../abuse/guess-limit'
import { ADDRESS_SEND_RETRY_SECONDS, enforceVerifyLimit } from '../abuse/rate-limit'
import { readFields } from '../body'
import { clientIp } from '../context'
import { normaliseEmail } from '../email'
import { GatewayError } from '../errors'
import { log } from '../log'
import { magicAuthEmail } from '../mail/templates'
import { isFormPost } from '../negotiate'
import { CodePage } from '../pages/code'
import { safeReturnTo } from '../redirect'
import { deliverInBackground } from '../mail/deliver'
import { classifyWorkosError, describeWorkosError, withDeadline, workosClient } from '../workos'
import { onLoginForm, readSignInRequest, refuseUnlessAllowed } from './login-form'
import type { MethodModule } from './method-module'
import { SIGN_IN_METHODS } from './methods'
import { forgetPendingCode, readPendingCode, rememberPendingCode } from './pending-code'
import { signInAs } from './success'
import { auditRefusedSignIn } from '../audit/sign-in'
import { throwUnlessSignUpClosed, workosFailureToError } from './workos-failure'

// The `code` method (Magic Auth): a 6-digit code emailed by WorkOS (or by the gateway, with
// EMAIL_DELIVERY=custom), typed into the gateway's own code page.
//
// Every answer here is the same whether or not the address has an account or a live code: the
// send step answers alike (the email goes out in the background), and at the verify step every
// way WorkOS can refuse a code (wrong, expired, used, too many guesses on its side, no such user,
// sign-up closed) is "that code is not right". What the gateway can tell from its own records
// (the pending code is older than a code lives; five wrong guesses at it) it says plainly, since
// those records exist alike for every address.

const INVALID_CODE = new GatewayError(
  400,
  'invalid_code',
  'That code is not right. Check that it is the newest code we sent, and type the 6 digits again.',
)
const CODE_EXPIRED = new GatewayError(
  400,
  'code_expired',
  'That code has expired. Send yourself a new one.',
)
const NOT_REQUESTED = new GatewayError(
  400,
  'code_not_requested',
  'Ask for a code first: a code can only be entered where it was asked for.',
)
const METHOD_NOT_ALLOWED = new GatewayError(
  403,
  'method_not_allowed',
  'Sign-in with a code is turned off for this account. Ask your administrator.',
)
const RECENTLY_SENT =
  'We recently sent a code to this address. Use the newest one; you can ask for another in a minute.'

const SIX_DIGITS = /^\d{6}$/

/** The client's address and agent, which WorkOS uses for its own risk checks. */
function clientContext(c: AppContext) {
  const ip = clientIp(c)
  const userAgent = c.req.header('user-agent')?.slice(0, 512)
  return {
    ...(ip !== '0.0.0.0' && { ipAddress: ip }),
    ...(userAgent && { userAgent }),
  }
}

/**
 * POST /auth/magic-auth — emails a 6-digit code (Magic Auth), then the code page. JSON answers
 * `{"success": true, "pending": "<sealed>"}`: clients without a cookie jar send `pending` back with
 * the code.
 */
function requestMagicAuth(c: AppContext) {
  return onLoginForm(c, async () => {
    const { email, returnTo, recentlySent } = await readSignInRequest(c, 'code')
    if (!recentlySent) await sendCode(c, email)
    const pending = await rememberPendingCode(c, { email, returnTo })
    if (recentlySent) {
      // The address's send limit is used up (by its owner, or by someone asking for codes for
      // it). The codes already sent did reach the inbox: the person can still use the newest.
      log({ event: 'magic_auth_recently_sent' })
      if (isFormPost(c)) return c.redirect('/auth/code?recent=1', 303)
      c.header('Retry-After', String(ADDRESS_SEND_RETRY_SECONDS))
      return c.json({ error: 'code_recently_sent', message: RECENTLY_SENT, pending }, 429)
    }
    log({ event: 'magic_auth_sent', delivery: c.get('config').emailDelivery })
    if (isFormPost(c)) return c.redirect('/auth/code', 303)
    return c.json({ success: true, pending })
  })
}

/** Asks WorkOS for a code (with sign-up closed for an unknown address, WorkOS sends none). */
async function sendCode(c: AppContext, email: string): Promise<void> {
  const config = c.get('config')
  let magicAuth
  try {
    magicAuth = await withDeadline(
      config,
      workosClient(config).userManagement.createMagicAuth({ email, ...clientContext(c) }),
    )
  } catch (error) {
    throwUnlessSignUpClosed(error, {
      notSent: 'magic_auth_not_sent',
      failed: 'magic_auth_request_failed',
    })
    return
  }
  // With EMAIL_DELIVERY=workos, WorkOS has emailed the code; with custom, we do, after answering
  // (waiting for the mail provider would make known addresses slower than unknown ones). WorkOS's
  // own email must then be turned off in its dashboard, or the person gets two.
  if (config.emailDelivery === 'custom') {
    deliverInBackground(
      c,
      magicAuthEmail({ to: email, productName: config.productName, code: magicAuth.code }),
    )
  }
}

/** GET /auth/code — the code form, for the address remembered from the first step. */
async function showCodePage(c: AppContext) {
  const read = await readPendingCode(c)
  if (read.state !== 'valid') return c.redirect('/auth/login?error=code_expired', 302)
  return c.html(
    CodePage({
      productName: c.get('config').productName,
      email: read.pending.email,
      returnTo: read.pending.returnTo,
      ...(c.req.query('recent') === '1' && { notice: RECENTLY_SENT }),
    }),
  )
}

/**
 * POST /auth/magic-auth/verify — checks the code with `authenticateWithMagicAuth` and signs in.
 * The address comes from the pending code (cookie, or `pending` in a JSON body), never from the
 * request alone. JSON: {"code", "pending"?, "email"?, "returnTo"?}. Form: the code.
 */
async function verifyMagicAuth(c: AppContext) {
  const form = isFormPost(c)
  const fields = await readFields(c)
  const read = await readPendingCode(c, form ? undefined : fields.pending)
  if (form && read.state !== 'valid') return c.redirect('/auth/login?error=code_expired', 303)

  const rendered = (error: GatewayError) => {
    if (!form || read.state !== 'valid') throw error
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
    return c.html(
      CodePage({
        productName: c.get('config').productName,
        email: read.pending.email,
        returnTo: read.pending.returnTo,
        error: error.message,
      }),
      error.status,
    )
  }

  try {
    await enforceVerifyLimit(c)
    if (read.state === 'absent') throw NOT_REQUESTED
    if (read.state === 'expired') throw CODE_EXPIRED
    const { pending } = read
    if (fields.email !== undefined) {
      // A JSON client may name the address too; it must be the one the code was asked for.
      const named = normaliseEmail(fields.email)
      if (!named.ok) throw new GatewayError(400, 'invalid_email', named.problem)
      if (named.email.toLowerCase() !== pending.email.toLowerCase()) throw NOT_REQUESTED
    }
    const code = typeof fields.code === 'string' ? fields.code.replace(/[\s-]/g, '') : ''
    if (!SIX_DIGITS.test(code)) throw INVALID_CODE
    refuseUnlessAllowed(c, pending.email)
    const kv = c.env.SESSIONS
    await enforceGuessLimit(kv, pending.email, pending.id)
    const returnTo =
      fields.returnTo !== undefined ? safeReturnTo(fields.returnTo) : pending.returnTo

    const config = c.get('config')
    let authenticated
    try {
      authenticated = await withDeadline(
        config,
        workosClient(config).userManagement.authenticateWithMagicAuth({
          code,
          email: pending.email,
          clientId: config.workosClientId,
          ...clientContext(c),
        }),
      )
    } catch (error) {
      const refusal = codeFailureToError(error)
      if (refusal === INVALID_CODE) await countWrongGuess(kv, pending.email, pending.id)
      throw refusal
    }
    const { user } = authenticated
    refuseUnlessAllowed(c, user.email)
    await signInAs(c, {
      userId: user.id,
      email: user.email,
      firstName: user.firstName ?? null,
      lastName: user.lastName ?? null,
      method: SIGN_IN_METHODS.code.stored,
    })
    forgetPendingCode(c)
    if (form) return c.redirect(returnTo, 303)
    return c.json({ success: true, returnTo })
  } catch (error) {
    if (error instanceof GatewayError) {
      // A refused attempt at a code this browser asked for (not a malformed address, not
      // WorkOS being unreachable) is in the audit trail.
      // A limiter's refusal (429) is not an attempt at the code: it is not recorded either.
      const attempted = error.status < 500 && error.status !== 429 && error.code !== 'invalid_email'
      if (read.state === 'valid' && attempted)
        auditRefusedSignIn(c, {
          method: SIGN_IN_METHODS.code.stored,
          reason: error.code,
          email: read.pending.email,
        })
      return rendered(error)
    }
    throw error
  }
}

function codeFailureToError(error: unknown): GatewayError {
  const failure = classifyWorkosError(error)
  if (failure.kind === 'invalid_grant' || failure.kind === 'rejected') {
    const reason = failure.kind === 'rejected' ? (failure.code ?? 'rejected') : 'invalid_grant'
    log({ event: 'magic_auth_refused', outcome: reason, ...describeWorkosError(error) })
    return reason === 'authentication_method_not_allowed' ? METHOD_NOT_ALLOWED : INVALID_CODE
  }
  return workosFailureToError(error, 'magic_auth_verify_failed')
}

export const magicAuth: MethodModule<'code'> = {
  routes: { form: requestMagicAuth, codePage: showCodePage, verify: verifyMagicAuth },
}
