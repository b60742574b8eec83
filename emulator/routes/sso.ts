import type { Context, Hono } from 'hono'
import { oauthError } from '../errors.ts'
import { opaqueToken } from '../ids.ts'
import { ACCESS_TOKEN_TTL_S, type EmulatorState } from '../state.ts'

// SSO token exchange and profile (WORKOS-API.md §4). The SDK posts the exchange form-encoded;
// the spec also allows JSON and query parameters, so all three are read.

async function tokenParams(c: Context): Promise<Record<string, string>> {
  const params: Record<string, string> = { ...c.req.query() }
  const contentType = c.req.header('content-type') ?? ''
  if (contentType.includes('application/x-www-form-urlencoded')) {
    new URLSearchParams(await c.req.text()).forEach((value, key) => {
      params[key] = value
    })
  } else if (contentType.includes('application/json')) {
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null
    for (const [key, value] of Object.entries(body ?? {})) {
      if (typeof value === 'string') params[key] = value
    }
  }
  return params
}

export function ssoRoutes(app: Hono, state: EmulatorState) {
  app.post('/sso/token', async (c) => {
    const params = await tokenParams(c)
    if (params.grant_type !== 'authorization_code')
      return oauthError(
        c,
        'unsupported_grant_type',
        `The grant_type '${params.grant_type ?? ''}' is not supported.`,
      )
    if (params.client_id !== state.options.clientId)
      return oauthError(c, 'invalid_client', `Invalid client ID '${params.client_id ?? ''}'.`)
    if (params.client_secret !== state.options.apiKey)
      return oauthError(c, 'invalid_client', 'Invalid client secret.')
    const code = params.code ? state.codes.get(params.code) : undefined
    if (!code || code.used || code.expiresAt <= state.now()) {
      return oauthError(
        c,
        'invalid_grant',
        `The code '${params.code ?? ''}' has expired or is invalid.`,
      )
    }
    code.used = true
    const accessToken = opaqueToken(32)
    state.accessTokens.set(accessToken, {
      email: code.email,
      expiresAt: state.now() + ACCESS_TOKEN_TTL_S * 1000,
    })
    return c.json({
      token_type: 'Bearer',
      access_token: accessToken,
      expires_in: ACCESS_TOKEN_TTL_S,
      profile: state.profileFor(code.email),
    })
  })

  app.get('/sso/profile', (c) => {
    const token = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1]
    const grant = token ? state.accessTokens.get(token) : undefined
    if (!grant || grant.expiresAt <= state.now()) return c.json({ error: 'Unauthorized' }, 401)
    return c.json(state.profileFor(grant.email))
  })
}
