import type { Context } from 'hono'
import { countWrongGuess, enforceGuessLimit } from '../abuse/guess-limit'
import { allowed } from '../abuse/rate-limit'
import { clientKey } from '../abuse/client-key'
import { readFields } from '../body'
import { GatewayError } from '../errors'
import { log } from '../log'
import { factorOf, saveFactor } from '../mfa/factor-store'
import { isFormPost, wantsHtml } from '../negotiate'
import { MfaCodePage, MfaEnrolPage } from '../pages/mfa'
import { safeReturnTo } from '../redirect'
import {
  currentSession,
  kvOrFailClosed,
  sessionStore,
  type CurrentSession,
} from '../session/current'
import { classifyWorkosError, withDeadline, workosClient } from '../workos'
import { workosFailureToError } from './magic-link'

// A second factor (TOTP) through WorkOS's MFA API. WorkOS keeps the secret and checks codes; the
// gateway keeps the factor's id per person (src/mfa/factor-store.ts) and marks the session once a
// code was right (`mfaAt`), which ACCESS rules with `mfa: true` and the assertion's `amr` read.

type Active = Extract<CurrentSession, { state: 'active' }>

const SIX_DIGITS = /^\d{6}$/
const INVALID_CODE = new GatewayError(
  400,
  'invalid_code',
  'That code is not right. Type the 6 digits your authenticator app shows now.',
)

async function signedIn(
  c: Context,
  returnTo: string,
  options: { refresh?: boolean } = {},
): Promise<Active | Response> {
  const session = await currentSession(c, options)
  if (session.state === 'active') return session
  if (wantsHtml(c) || isFormPost(c)) {
    const back = `/auth/mfa?returnTo=${encodeURIComponent(returnTo)}`
    return c.redirect(`/auth/login?returnTo=${encodeURIComponent(back)}`, isFormPost(c) ? 303 : 302)
  }
  return c.json({ error: 'not_signed_in', message: 'Sign in to continue.' }, 401)
}

/** Enrols a new TOTP factor for the person (replacing one never confirmed). */
async function enrol(c: Context, session: Active) {
  const config = c.get('config')
  let factor
  try {
    factor = await withDeadline(
      config,
      workosClient(config).multiFactorAuth.enrollFactor({
        type: 'totp',
        issuer: config.productName,
        user: session.record.email,
      }),
    )
  } catch (error) {
    throw workosFailureToError(error, 'mfa_enrol_failed')
  }
  if (!factor.totp) throw workosFailureToError(new Error('no TOTP secret'), 'mfa_enrol_failed')
  await saveFactor(c.env.SESSIONS, session.personKey, {
    factorId: factor.id,
    enrolledAt: Date.now(),
    confirmed: false,
  })
  log({ event: 'mfa_enrolment_started' })
  return factor.totp
}

/** GET /auth/mfa?returnTo=… — enrol (QR code and the secret as text), or type the current code. */
export async function showMfa(c: Context) {
  const returnTo = safeReturnTo(c.req.query('returnTo'))
  const session = await signedIn(c, returnTo)
  if (session instanceof Response) return session
  if (session.record.mfaAt !== undefined) return c.redirect(returnTo, 302)
  const config = c.get('config')
  const factor = await factorOf(c.env.SESSIONS, session.personKey)
  if (factor?.confirmed) {
    return c.html(
      MfaCodePage({ productName: config.productName, email: session.record.email, returnTo }),
    )
  }
  const totp = await enrol(c, session)
  return c.html(
    MfaEnrolPage({
      productName: config.productName,
      email: session.record.email,
      qrCode: totp.qrCode,
      secret: totp.secret,
      returnTo,
    }),
  )
}

/** POST /auth/mfa/enroll — JSON: a new factor's secret, otpauth URI and QR code. */
export async function enrolMfa(c: Context) {
  const session = await signedIn(c, '/')
  if (session instanceof Response) return session
  const factor = await factorOf(c.env.SESSIONS, session.personKey)
  if (factor?.confirmed)
    throw new GatewayError(409, 'mfa_already_enrolled', 'A second factor is already set up.')
  const totp = await enrol(c, session)
  return c.json({ secret: totp.secret, uri: totp.uri, qrCode: totp.qrCode })
}

/**
 * POST /auth/mfa/verify — `{"code", "returnTo"?}`: checks the code against the person's factor
 * and marks the session as having passed a second factor. Guesses are limited per client, per
 * session, and per person (20 wrong an hour, 5 per 30-second step, in KV).
 */
export async function verifyMfa(c: Context) {
  const form = isFormPost(c)
  const fields = await readFields(c)
  const returnTo = safeReturnTo(fields.returnTo)
  // No background refresh: it could land after the write below and drop the mark.
  const session = await signedIn(c, returnTo, { refresh: false })
  if (session instanceof Response) return session
  const config = c.get('config')
  const kv = c.env.SESSIONS as KVNamespace
  const page = (error: GatewayError, confirmed: boolean) => {
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
    if (!form) throw error
    return c.html(
      confirmed
        ? MfaCodePage({
            productName: config.productName,
            email: session.record.email,
            returnTo,
            error: error.message,
          })
        : MfaCodePage({
            productName: config.productName,
            email: session.record.email,
            returnTo,
            error: `${error.message} (Use the app you just set up.)`,
          }),
      error.status,
    )
  }
  const factor = await factorOf(kv, session.personKey)
  if (!factor)
    return page(
      new GatewayError(400, 'mfa_not_enrolled', 'Set up an authenticator app first.'),
      false,
    )
  try {
    if (
      !(await allowed(c, 'VERIFY_LIMIT_IP', `mfa:${clientKey(c)}`)) ||
      !(await allowed(c, 'VERIFY_LIMIT_IP', `mfa-session:${session.record.sid}`))
    ) {
      log({ event: 'rate_limited', limiter: 'MFA_GUESSES' })
      throw new GatewayError(
        429,
        'too_many_attempts',
        'Too many codes were tried. Wait 10 seconds.',
        {
          'Retry-After': '10',
        },
      )
    }
    // Per person, across clients: 20 wrong an hour, 5 per 30-second step.
    const person = `mfa:${session.record.email}`
    const step = `totp-${Math.floor(Date.now() / 30_000)}`
    await enforceGuessLimit(kv, person, step)
    const code = typeof fields.code === 'string' ? fields.code.replace(/[\s-]/g, '') : ''
    if (!SIX_DIGITS.test(code)) throw INVALID_CODE
    const workos = workosClient(config).multiFactorAuth
    let valid: boolean
    try {
      const challenge = await withDeadline(
        config,
        workos.challengeFactor({ authenticationFactorId: factor.factorId }),
      )
      ;({ valid } = await withDeadline(
        config,
        workos.verifyChallenge({ authenticationChallengeId: challenge.id, code }),
      ))
    } catch (error) {
      const failure = classifyWorkosError(error)
      if (failure.kind !== 'rejected') throw workosFailureToError(error, 'mfa_verify_failed')
      valid = false
    }
    if (!valid) {
      await countWrongGuess(kv, person, step)
      log({ event: 'mfa_refused' })
      throw INVALID_CODE
    }
    if (!factor.confirmed) await saveFactor(kv, session.personKey, { ...factor, confirmed: true })
    const store = sessionStore(c)
    await kvOrFailClosed(() =>
      store.refresh(session.sessionId, { ...session.record, mfaAt: Date.now() }),
    )
    log({ event: 'mfa_passed', sid: session.record.sid })
    if (form) return c.redirect(returnTo, 303)
    return c.json({ success: true, returnTo })
  } catch (error) {
    if (error instanceof GatewayError) return page(error, factor.confirmed)
    throw error
  }
}
