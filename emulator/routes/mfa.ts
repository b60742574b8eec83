import type { Context, Hono } from 'hono'
import QRCode from 'qrcode'
import { apiError } from '../errors.ts'
import { workosId } from '../ids.ts'
import {
  MFA_CHALLENGE_TTL_MS,
  type EmulatorState,
  type MfaChallenge,
  type MfaFactor,
} from '../state.ts'
import { newTotpSecret, verifyTotp } from '../totp.ts'

// The MFA API (src/multi-factor-auth/multi-factor-auth.ts): enrol a TOTP factor, challenge it,
// verify the code. TOTP is real RFC 6238 (emulator/totp.ts), so a code from any authenticator app
// that scanned the QR code, or from totpCode(secret), verifies.

const iso = (ms: number) => new Date(ms).toISOString()

/** FactorResponse; the secret, URI and QR code only in the enrolment answer (FactorWithSecrets). */
function factorJson(factor: MfaFactor, withSecrets = false) {
  return {
    object: 'authentication_factor' as const,
    id: factor.id,
    created_at: iso(factor.createdAt),
    updated_at: iso(factor.createdAt),
    type: 'totp' as const,
    totp: withSecrets
      ? {
          issuer: factor.issuer,
          user: factor.user,
          qr_code: factor.qrCode,
          secret: factor.secret,
          uri: factor.uri,
        }
      : { issuer: factor.issuer, user: factor.user },
  }
}

/** ChallengeResponse; no `code` (WorkOS sends one for generic_otp factors only). */
function challengeJson(challenge: MfaChallenge) {
  return {
    object: 'authentication_challenge' as const,
    id: challenge.id,
    created_at: iso(challenge.createdAt),
    updated_at: iso(challenge.updatedAt),
    expires_at: iso(challenge.expiresAt),
    authentication_factor_id: challenge.factorId,
  }
}

const notFound = (c: Context, what: string, id: string) =>
  apiError(c, 404, {
    message: `${what} not found: '${id}'.`,
    code: 'entity_not_found',
    entity_id: id,
  })

/** Key URI format (github.com/google/google-authenticator/wiki/Key-Uri-Format). */
const otpauthUri = (issuer: string, user: string, secret: string) =>
  `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(user)}?secret=${secret}&issuer=${encodeURIComponent(issuer)}`

export function mfaRoutes(app: Hono, state: EmulatorState) {
  app.post('/auth/factors/enroll', async (c) => {
    const body = ((await c.req.json().catch(() => null)) ?? {}) as Record<string, unknown>
    if (body.type !== 'totp') {
      return apiError(c, 422, {
        message: `The emulator enrols 'totp' factors only, not '${String(body.type ?? '')}'.`,
        code: 'invalid_request_parameters',
        errors: [{ field: 'type', code: "type must be 'totp'" }],
      })
    }
    const errors: { field: string; code: string }[] = []
    if (typeof body.totp_issuer !== 'string' || !body.totp_issuer)
      errors.push({ field: 'totp_issuer', code: 'totp_issuer must be a string' })
    if (typeof body.totp_user !== 'string' || !body.totp_user)
      errors.push({ field: 'totp_user', code: 'totp_user must be a string' })
    if (
      errors.length > 0 ||
      typeof body.totp_issuer !== 'string' ||
      typeof body.totp_user !== 'string'
    )
      return apiError(c, 422, {
        message: 'Validation failed',
        code: 'invalid_request_parameters',
        errors,
      })
    const secret = newTotpSecret()
    const uri = otpauthUri(body.totp_issuer, body.totp_user, secret)
    const factor: MfaFactor = {
      id: workosId('auth_factor'),
      issuer: body.totp_issuer,
      user: body.totp_user,
      secret,
      uri,
      qrCode: await QRCode.toDataURL(uri),
      createdAt: state.now(),
    }
    state.factors.set(factor.id, factor)
    return c.json(factorJson(factor, true), 201)
  })

  app.get('/auth/factors/:id', (c) => {
    const factor = state.factors.get(c.req.param('id'))
    return factor
      ? c.json(factorJson(factor))
      : notFound(c, 'Authentication Factor', c.req.param('id'))
  })

  app.delete('/auth/factors/:id', (c) => {
    const id = c.req.param('id')
    if (!state.factors.delete(id)) return notFound(c, 'Authentication Factor', id)
    for (const [challengeId, challenge] of state.challenges) {
      if (challenge.factorId === id) state.challenges.delete(challengeId)
    }
    return c.body(null, 200)
  })

  app.post('/auth/factors/:id/challenge', (c) => {
    const factor = state.factors.get(c.req.param('id'))
    if (!factor) return notFound(c, 'Authentication Factor', c.req.param('id'))
    const now = state.now()
    const challenge: MfaChallenge = {
      id: workosId('auth_challenge'),
      factorId: factor.id,
      createdAt: now,
      updatedAt: now,
      expiresAt: now + MFA_CHALLENGE_TTL_MS,
      verified: false,
    }
    state.challenges.set(challenge.id, challenge)
    return c.json(challengeJson(challenge), 201)
  })

  app.post('/auth/challenges/:id/verify', async (c) => {
    const id = c.req.param('id')
    const challenge = state.challenges.get(id)
    const factor = challenge && state.factors.get(challenge.factorId)
    if (!challenge || !factor) return notFound(c, 'Authentication Challenge', id)
    const body = ((await c.req.json().catch(() => null)) ?? {}) as Record<string, unknown>
    if (typeof body.code !== 'string' || !body.code) {
      return apiError(c, 422, {
        message: 'Validation failed',
        code: 'invalid_request_parameters',
        errors: [{ field: 'code', code: 'code must be a string' }],
      })
    }
    if (challenge.verified) {
      return apiError(c, 422, {
        message: `The authentication challenge '${id}' has already been verified.`,
        code: 'authentication_challenge_previously_verified',
      })
    }
    if (challenge.expiresAt <= state.now()) {
      return apiError(c, 422, {
        message: `The authentication challenge '${id}' has expired.`,
        code: 'authentication_challenge_expired',
      })
    }
    // A wrong code answers 200 with valid: false and leaves the challenge open for another try.
    const valid = await verifyTotp(factor.secret, body.code, state.now())
    if (valid) {
      challenge.verified = true
      challenge.updatedAt = state.now()
    }
    return c.json({ challenge: challengeJson(challenge), valid })
  })
}
