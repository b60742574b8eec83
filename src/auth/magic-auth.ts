import type { Context } from 'hono'
import { enforceVerifyLimit } from '../abuse/rate-limit'
import { readFields } from '../body'
import { clientIp } from '../context'
import { normaliseEmail } from '../email'
import { GatewayError } from '../errors'
import { log } from '../log'
import { magicAuthEmail } from '../mail/templates'
import { isFormPost } from '../negotiate'
import { CodePage } from '../pages/code'
import { safeReturnTo } from '../redirect'
import { classifyWorkosError, describeWorkosError, withDeadline, workosClient } from '../workos'
import { signInAs } from './callback'
import { deliver, workosFailureToError } from './magic-link'
import { forgetPendingCode, readPendingCode, rememberPendingCode } from './pending-code'
import { onLoginForm, readSignInRequest, refuseUnlessAllowed } from './sign-in-request'

/** What the person is told for each way a code can fail (WorkOS's codes → ours). */
const CODE_ERRORS: Record<string, GatewayError> = {
  invalid_one_time_code: new GatewayError(
    400,
    'invalid_code',
    'That code is not right. Check the email and type the 6 digits again.',
  ),
  one_time_code_expired: new GatewayError(
    400,
    'code_expired',
    'That code has expired. Send yourself a new one.',
  ),
  one_time_code_previously_used: new GatewayError(
    400,
    'code_used',
    'That code was already used. Send yourself a new one.',
  ),
  one_time_code_too_many_attempts: new GatewayError(
    400,
    'too_many_attempts',
    'Too many wrong codes. Send yourself a new one.',
  ),
  sign_up_not_allowed: new GatewayError(
    403,
    'sign_up_not_allowed',
    'This address has no account here, and new sign-ups are closed. Ask your administrator for access.',
  ),
  authentication_method_not_allowed: new GatewayError(
    403,
    'method_not_allowed',
    'Sign-in with a code is turned off for this account. Ask your administrator.',
  ),
}

const SIX_DIGITS = /^\d{6}$/

/** The client's address and agent, which WorkOS uses for its own risk checks. */
function clientContext(c: Context) {
  const ip = clientIp(c)
  const userAgent = c.req.header('user-agent')?.slice(0, 512)
  return {
    ...(ip !== '0.0.0.0' && { ipAddress: ip }),
    ...(userAgent && { userAgent }),
  }
}

/** POST /auth/magic-auth — emails a 6-digit code (Magic Auth), then the code page. */
export function requestMagicAuth(c: Context) {
  return onLoginForm(c, async () => {
    const config = c.get('config')
    const { email, returnTo } = await readSignInRequest(c, 'code')
    let magicAuth
    try {
      magicAuth = await withDeadline(
        config,
        workosClient(config).userManagement.createMagicAuth({ email, ...clientContext(c) }),
      )
    } catch (error) {
      const failure = classifyWorkosError(error)
      // "No such user, and sign-up is closed": answering that would tell anyone which addresses
      // have accounts. The person is answered as if a code were on its way; the code page says
      // "if this address can sign in here".
      if (failure.kind !== 'rejected' || failure.code !== 'sign_up_not_allowed')
        throw workosFailureToError(error, 'magic_auth_request_failed')
      log({ event: 'magic_auth_not_sent', outcome: 'sign_up_not_allowed' })
    }
    // With EMAIL_DELIVERY=workos, WorkOS has emailed the code; with custom, we do. (WorkOS's own
    // email must then be turned off in its dashboard, or the person gets two.)
    if (magicAuth && config.emailDelivery === 'custom') {
      await deliver(
        c,
        await magicAuthEmail({ to: email, productName: config.productName, code: magicAuth.code }),
      )
    }
    await rememberPendingCode(c, { email, returnTo })
    log({ event: 'magic_auth_sent', delivery: config.emailDelivery })
    if (isFormPost(c)) return c.redirect('/auth/code', 303)
    return c.json({ success: true })
  })
}

/** GET /auth/code — the code form, for the address remembered from the first step. */
export async function showCodePage(c: Context) {
  const pending = await readPendingCode(c)
  if (!pending) return c.redirect('/auth/login?error=code_expired', 302)
  return c.html(
    CodePage({
      productName: c.get('config').productName,
      email: pending.email,
      returnTo: pending.returnTo,
    }),
  )
}

/**
 * POST /auth/magic-auth/verify — checks the code with `authenticateWithMagicAuth` and signs in.
 * JSON: {"email","code"[,"returnTo"]}. Form: the code, with the address from the pending cookie.
 */
export async function verifyMagicAuth(c: Context) {
  const form = isFormPost(c)
  const pending = await readPendingCode(c)
  const fields = await readFields(c)
  if (form && !pending) return c.redirect('/auth/login?error=code_expired', 303)

  const rendered = (error: GatewayError) => {
    if (!form || !pending) throw error
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
    return c.html(
      CodePage({ productName: c.get('config').productName, ...pending, error: error.message }),
      error.status,
    )
  }

  try {
    await enforceVerifyLimit(c)
    const email = normaliseEmail(form ? pending!.email : fields.email)
    if (!email.ok) throw new GatewayError(400, 'invalid_email', email.problem)
    const code = typeof fields.code === 'string' ? fields.code.replace(/[\s-]/g, '') : ''
    if (!SIX_DIGITS.test(code)) throw CODE_ERRORS.invalid_one_time_code!
    refuseUnlessAllowed(c, email.email)
    const returnTo =
      fields.returnTo !== undefined ? safeReturnTo(fields.returnTo) : (pending?.returnTo ?? '/')

    const config = c.get('config')
    let authenticated
    try {
      authenticated = await withDeadline(
        config,
        workosClient(config).userManagement.authenticateWithMagicAuth({
          code,
          email: email.email,
          clientId: config.workosClientId,
          ...clientContext(c),
        }),
      )
    } catch (error) {
      throw codeFailureToError(error)
    }
    const { user } = authenticated
    refuseUnlessAllowed(c, user.email)
    await signInAs(c, {
      userId: user.id,
      email: user.email,
      firstName: user.firstName ?? null,
      lastName: user.lastName ?? null,
      method: 'magic_auth',
    })
    forgetPendingCode(c)
    if (form) return c.redirect(returnTo, 303)
    return c.json({ success: true, returnTo })
  } catch (error) {
    if (error instanceof GatewayError) return rendered(error)
    throw error
  }
}

function codeFailureToError(error: unknown): GatewayError {
  const failure = classifyWorkosError(error)
  if (failure.kind === 'invalid_grant') {
    log({ event: 'magic_auth_refused', outcome: 'invalid_grant' })
    return CODE_ERRORS.invalid_one_time_code!
  }
  if (failure.kind === 'rejected' && failure.code && CODE_ERRORS[failure.code]) {
    log({ event: 'magic_auth_refused', outcome: failure.code })
    return CODE_ERRORS[failure.code]!
  }
  if (failure.kind === 'rejected') {
    log({ event: 'magic_auth_refused', outcome: 'rejected', ...describeWorkosError(error) })
    return new GatewayError(
      400,
      'auth_failed',
      'We could not sign you in with that code. Send yourself a new one.',
    )
  }
  return workosFailureToError(error, 'magic_auth_verify_failed')
}
