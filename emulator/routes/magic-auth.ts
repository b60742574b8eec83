import { randomInt } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { apiError, oauthError } from '../errors.ts'
import { opaqueToken, workosId } from '../ids.ts'
import { userAccessToken } from '../tokens.ts'
import { exchangeUserManagementCode } from './sso.ts'
import {
  MAGIC_AUTH_MAX_ATTEMPTS,
  MAGIC_AUTH_TTL_MS,
  type EmulatorState,
  type MagicAuthCode,
} from '../state.ts'

// Magic Auth (WorkOS API reference, Magic Auth): a 6-digit code that lives 10 minutes, works once, and is burned
// after too many wrong guesses. Creating a code for an unknown address creates the user.

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const GRANT = 'urn:workos:oauth:grant-type:magic-auth:code'
const LEGACY_GRANT = 'urn:workos:oauth:grant-type:magic-auth'

const toJson = (record: MagicAuthCode) => ({
  object: 'magic_auth',
  id: record.id,
  user_id: record.userId,
  email: record.email,
  code: record.code,
  expires_at: new Date(record.expiresAt).toISOString(),
  created_at: new Date(record.createdAt).toISOString(),
  updated_at: new Date(record.createdAt).toISOString(),
})

async function readParams(c: Context): Promise<Record<string, unknown>> {
  const contentType = c.req.header('content-type') ?? ''
  if (contentType.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(await c.req.text()))
  }
  const body = await c.req.json().catch(() => null)
  return body && typeof body === 'object' ? (body as Record<string, unknown>) : {}
}

export function magicAuthRoutes(app: Hono, state: EmulatorState) {
  app.post('/user_management/magic_auth', async (c) => {
    const body = await readParams(c)
    const email = body.email
    if (typeof email !== 'string' || !EMAIL_SHAPE.test(email)) {
      return apiError(c, 422, {
        message: 'Validation failed',
        code: 'invalid_request_parameters',
        errors: [{ field: 'email', code: 'email must be a valid email address' }],
      })
    }
    let user = state.userFor(email)
    if (!user) {
      const domain = email.split('@')[1]!.toLowerCase()
      if (state.signUpBlockedDomains.has(domain)) {
        return oauthError(c, 'sign_up_not_allowed', 'Sign-up is not allowed for this environment.')
      }
    }
    if (!state.takeMagicAuthSend(email)) {
      c.header('Retry-After', '60')
      return apiError(c, 429, {
        message: 'Too many Magic Auth codes requested for this email.',
        code: 'rate_limit_exceeded',
      })
    }
    user ??= state.createUser(email)
    const now = state.now()
    const record: MagicAuthCode = {
      id: workosId('magic_auth'),
      userId: user.id,
      email: user.email,
      code: String(randomInt(0, 1_000_000)).padStart(6, '0'),
      createdAt: now,
      expiresAt: now + MAGIC_AUTH_TTL_MS,
      used: false,
      attempts: 0,
    }
    state.magicAuths.set(record.id, record)
    if (state.options.magicAuthEmails !== false)
      state.deliver({
        via: 'workos',
        to: user.email,
        subject: `Your sign-in code is ${record.code}`,
        link: null,
        code: record.code,
        text: `Enter this code to sign in: ${record.code}\nIt expires in 10 minutes.`,
      })
    return c.json(toJson(record), 201)
  })

  app.get('/user_management/magic_auth/:id', (c) => {
    const id = c.req.param('id')
    const record = state.magicAuths.get(id)
    if (!record) {
      return apiError(c, 404, {
        message: `MagicAuth not found: '${id}'.`,
        code: 'entity_not_found',
        entity_id: id,
      })
    }
    return c.json(toJson(record))
  })

  app.post('/user_management/authenticate', async (c) => {
    const params = await readParams(c)
    const grantType = params.grant_type
    if (grantType === 'authorization_code') return exchangeUserManagementCode(c, state, params)
    if (grantType !== GRANT && grantType !== LEGACY_GRANT) {
      return oauthError(
        c,
        'unsupported_grant_type',
        `The grant_type '${String(grantType ?? '')}' is not supported by the emulator.`,
      )
    }
    if (params.client_id !== state.options.clientId) {
      return oauthError(
        c,
        'invalid_client',
        `Invalid client ID '${String(params.client_id ?? '')}'.`,
      )
    }
    if (params.client_secret !== state.options.apiKey)
      return oauthError(c, 'invalid_client', 'Invalid client secret.')
    const { code, email } = params
    if (typeof code !== 'string' || typeof email !== 'string' || !code || !email) {
      return oauthError(
        c,
        'invalid_request',
        'The request is missing a required parameter: code and email.',
      )
    }
    const records = [...state.magicAuths.values()]
      .filter((r) => r.email.toLowerCase() === email.toLowerCase())
      .sort((a, b) => b.createdAt - a.createdAt)
    const latest = records[0]
    const match = records.find((r) => r.code === code)
    if (match?.used) {
      return apiError(c, 400, {
        code: 'one_time_code_previously_used',
        message: 'This one-time code has already been used.',
      })
    }
    if (match && match.expiresAt <= state.now()) {
      return apiError(c, 400, {
        code: 'one_time_code_expired',
        message: `One-time code for '${email}' has expired.`,
      })
    }
    if (latest && latest.attempts >= MAGIC_AUTH_MAX_ATTEMPTS) {
      return apiError(c, 400, {
        code: 'one_time_code_too_many_attempts',
        message: 'Too many attempts with this one-time code.',
      })
    }
    if (!match) {
      if (latest && !latest.used && latest.expiresAt > state.now()) latest.attempts += 1
      if (latest && latest.attempts >= MAGIC_AUTH_MAX_ATTEMPTS) {
        return apiError(c, 400, {
          code: 'one_time_code_too_many_attempts',
          message: 'Too many attempts with this one-time code.',
        })
      }
      return apiError(c, 400, { code: 'invalid_one_time_code', message: 'Invalid one-time code.' })
    }
    match.used = true
    const user = state.userFor(email)!
    const now = new Date(state.now()).toISOString()
    user.email_verified = true
    user.last_sign_in_at = now
    user.updated_at = now
    return c.json({
      user,
      organization_id: null,
      access_token: userAccessToken(user.id, state.now()),
      refresh_token: opaqueToken(24),
      authentication_method: 'MagicAuth',
    })
  })
}
