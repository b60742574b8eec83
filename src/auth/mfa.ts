import type { AppContext } from '../app-env'
import { personActor } from '../audit/actors'
import { audit } from '../audit/record'
import { countWrongGuess, enforceGuessLimit } from '../abuse/guess-limit'
import { clientKey } from '../abuse/client-key'
import { allowed } from '../abuse/rate-limit'
import { inBackground } from '../background'
import { readFields } from '../body'
import { GatewayError } from '../errors'
import { log } from '../log'
import {
  factorOf,
  forgetFactor,
  rememberUsedCode,
  saveFactor,
  wasCodeUsed,
  type FactorRecord,
} from '../mfa/factor-store'
import { isFormPost, wantsHtml } from '../negotiate'
import { MFA_ENROL_MAX_SIGN_IN_AGE_MINUTES } from '../mfa/enrol-policy'
import { MfaCodePage, MfaEnrolPage } from '../pages/mfa'
import { safeReturnTo } from '../redirect'
import { kvOrFailClosed } from '../kv/fail-closed'
import { currentSession, sessionStore, type CurrentSession } from '../session/current'
import { classifyWorkosError, withDeadline, workosClient } from '../workos'
import { workosFailureToError } from '../sign-in/workos-failure'

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
// The same error code as a wrong one (the contract's one answer), worded for the person who
// typed a right code a second time (another tab, another browser) within its 90 seconds.
const CODE_USED = new GatewayError(
  400,
  'invalid_code',
  'That code was already used. Wait for the next code in your app, then type it.',
)

const mfaPageHref = (returnTo: string) => `/auth/mfa?returnTo=${encodeURIComponent(returnTo)}`

/** Sends a session whose sign-in is too old to enrol to sign in again; undefined when fresh. */
function freshSignInRequired(
  c: AppContext,
  session: Active,
  returnTo: string,
): Response | undefined {
  const age = Date.now() - session.record.createdAt
  if (age <= MFA_ENROL_MAX_SIGN_IN_AGE_MINUTES * 60_000) return undefined
  log({ event: 'mfa_enrolment_refused', outcome: 'reauthentication_required' })
  if (wantsHtml(c) || isFormPost(c)) {
    const back = encodeURIComponent(mfaPageHref(returnTo))
    return c.redirect(`/auth/login?returnTo=${back}&reauth=1`, isFormPost(c) ? 303 : 302)
  }
  return c.json(
    {
      error: 'reauthentication_required',
      message: `Setting up a second factor needs a sign-in within the last ${MFA_ENROL_MAX_SIGN_IN_AGE_MINUTES} minutes. Sign in again, then set it up.`,
    },
    401,
  )
}

async function signedIn(
  c: AppContext,
  returnTo: string,
  options: { refresh?: boolean } = {},
): Promise<Active | Response> {
  const session = await currentSession(c, options)
  if (session.state === 'active') return session
  if (wantsHtml(c) || isFormPost(c)) {
    const back = encodeURIComponent(mfaPageHref(returnTo))
    return c.redirect(`/auth/login?returnTo=${back}`, isFormPost(c) ? 303 : 302)
  }
  return c.json({ error: 'not_signed_in', message: 'Sign in to continue.' }, 401)
}

/**
 * Enrols a new TOTP factor for the person, replacing one never confirmed (which is then deleted at
 * WorkOS after the answer: it can no longer be confirmed, and would pile up at every reload).
 */
async function enrol(c: AppContext, session: Active, previous: FactorRecord | null) {
  const config = c.get('config')
  const workos = workosClient(config).multiFactorAuth
  let factor
  try {
    factor = await withDeadline(
      config,
      workos.enrollFactor({ type: 'totp', issuer: config.productName, user: session.record.email }),
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
  if (previous && !previous.confirmed) {
    inBackground(
      c,
      withDeadline(config, workos.deleteFactor(previous.factorId)).catch(() =>
        log({ event: 'mfa_factor_delete_failed' }),
      ),
    )
  }
  log({ event: 'mfa_enrolment_started' })
  return factor.totp
}

/** GET /auth/mfa?returnTo=… — enrol (QR code and the secret as text), or type the current code. */
export async function showMfa(c: AppContext) {
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
  const stale = freshSignInRequired(c, session, returnTo)
  if (stale) return stale
  const totp = await enrol(c, session, factor)
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
export async function enrolMfa(c: AppContext) {
  const session = await signedIn(c, '/')
  if (session instanceof Response) return session
  const factor = await factorOf(c.env.SESSIONS, session.personKey)
  if (factor?.confirmed)
    throw new GatewayError(409, 'mfa_already_enrolled', 'A second factor is already set up.')
  const stale = freshSignInRequired(c, session, '/')
  if (stale) return stale
  const totp = await enrol(c, session, factor)
  return c.json({ secret: totp.secret, uri: totp.uri, qrCode: totp.qrCode })
}

const NOT_ENROLLED = new GatewayError(
  400,
  'mfa_not_enrolled',
  'Set up an authenticator app first (GET /auth/mfa, or POST /auth/mfa/enroll).',
)

/** Seconds until the next 30-second TOTP step, when the app shows a new code. */
const secondsToNextStep = (now: number) => 30 - (Math.floor(now / 1000) % 30)

/**
 * The per-person guess count (src/abuse/guess-limit.ts), counted per TOTP step: its refusals are
 * worded for a code sent by email, so the per-step one is reworded for an authenticator app.
 */
async function enforcePersonLimit(kv: KVNamespace, person: string, step: string, now: number) {
  try {
    await enforceGuessLimit(kv, person, step, now)
  } catch (error) {
    if (!(error instanceof GatewayError) || error.code !== 'too_many_attempts') throw error
    const seconds = secondsToNextStep(now)
    throw new GatewayError(
      400,
      'too_many_attempts',
      `Too many wrong codes. Wait ${seconds} seconds for the next code in your app, then type it.`,
      { 'Retry-After': String(seconds) },
    )
  }
}

/**
 * POST /auth/mfa/verify — `{"code", "returnTo"?}`: checks the code against the person's factor
 * and marks the session as having passed a second factor. Guesses are limited per client, per
 * session, and per person (20 wrong an hour, 5 per 30-second step, in KV); a code is accepted
 * once (src/mfa/factor-store.ts).
 */
export async function verifyMfa(c: AppContext) {
  const form = isFormPost(c)
  const fields = await readFields(c)
  const returnTo = safeReturnTo(fields.returnTo)
  // No background refresh: it could land after the write below and drop the mark.
  const session = await signedIn(c, returnTo, { refresh: false })
  if (session instanceof Response) return session
  // Already passed (a form sent twice, a second tab): the same answer as the first time.
  if (session.record.mfaAt !== undefined) {
    if (form) return c.redirect(returnTo, 303)
    return c.json({ success: true, returnTo })
  }
  const config = c.get('config')
  const kv = c.env.SESSIONS
  const factor = await factorOf(kv, session.personKey)
  // Nothing to check the code against: back to the page that enrols.
  if (!factor) {
    if (form) return c.redirect(mfaPageHref(returnTo), 303)
    throw NOT_ENROLLED
  }
  const page = (error: GatewayError) => {
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
    if (!form) throw error
    return c.html(
      MfaCodePage({
        productName: config.productName,
        email: session.record.email,
        returnTo,
        error: error.message,
        enrolling: !factor.confirmed,
      }),
      error.status,
    )
  }
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
    const now = Date.now()
    const person = `mfa:${session.record.email}`
    const step = `totp-${Math.floor(now / 30_000)}`
    await enforcePersonLimit(kv, person, step, now)
    const code = typeof fields.code === 'string' ? fields.code.replace(/[\s-]/g, '') : ''
    if (!SIX_DIGITS.test(code)) throw INVALID_CODE
    if (await wasCodeUsed(kv, session.personKey, code)) {
      await countWrongGuess(kv, person, step)
      log({ event: 'mfa_refused', outcome: 'code_reused' })
      throw CODE_USED
    }
    const valid = await checkCode(c, session, factor, code)
    if (!valid) {
      await countWrongGuess(kv, person, step)
      log({ event: 'mfa_refused' })
      throw INVALID_CODE
    }
    await rememberUsedCode(kv, session.personKey, code)
    if (!factor.confirmed) {
      await saveFactor(kv, session.personKey, { ...factor, confirmed: true })
      // Enrolled: the factor's first right code.
      audit(c, {
        action: 'gateway.mfa.enrolled',
        actor: personActor(session.record),
        targets: [{ type: 'mfa_factor', id: factor.factorId, name: 'totp' }],
        metadata: { session: session.record.sid },
        organizationId: session.record.organizationId,
      })
    }
    const store = sessionStore(c)
    await kvOrFailClosed(() =>
      store.refresh(session.sessionId, { ...session.record, mfaAt: Date.now() }),
    )
    log({ event: 'mfa_passed', sid: session.record.sid })
    if (form) return c.redirect(returnTo, 303)
    return c.json({ success: true, returnTo })
  } catch (error) {
    if (form && error === NOT_ENROLLED) return c.redirect(mfaPageHref(returnTo), 303)
    if (error instanceof GatewayError) return page(error)
    throw error
  }
}

/**
 * Asks WorkOS whether `code` is right for the factor: a challenge, then its verification. A
 * factor WorkOS no longer has (deleted in its dashboard, or an emulator restarted while KV kept
 * the id) is forgotten, and the person enrols again, rather than being told forever that every
 * code is wrong.
 */
async function checkCode(c: AppContext, session: Active, factor: FactorRecord, code: string) {
  const config = c.get('config')
  const kv = c.env.SESSIONS
  const workos = workosClient(config).multiFactorAuth
  let challenge
  try {
    challenge = await withDeadline(
      config,
      workos.challengeFactor({ authenticationFactorId: factor.factorId }),
    )
  } catch (error) {
    const failure = classifyWorkosError(error)
    if (failure.kind === 'rejected' && failure.status === 404) {
      log({ event: 'mfa_factor_gone' })
      // Only the factor this request read: one enrolled meanwhile stays.
      if ((await factorOf(kv, session.personKey))?.factorId === factor.factorId)
        await forgetFactor(kv, session.personKey)
      throw NOT_ENROLLED
    }
    throw workosFailureToError(error, 'mfa_verify_failed')
  }
  try {
    const { valid } = await withDeadline(
      config,
      workos.verifyChallenge({ authenticationChallengeId: challenge.id, code }),
    )
    return valid
  } catch (error) {
    // A refused verification (an expired or already verified challenge) is a wrong code.
    if (classifyWorkosError(error).kind !== 'rejected')
      throw workosFailureToError(error, 'mfa_verify_failed')
    return false
  }
}
