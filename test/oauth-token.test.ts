import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  GATEWAY,
  form,
  gateway,
  gatewayWith,
  json,
  meStatus,
  signIn,
  signInWithCode,
  uniqueEmail,
} from './helpers'
import {
  ACCESS,
  LOOPBACK_REDIRECT,
  MCP,
  type Tokens,
  approvedCode,
  mcpStatus,
  pkce,
  register,
  revokeRequest,
  tokenRequest,
} from './oauth-client'

// POST /auth/oauth/token and /auth/oauth/revoke as a public client calls them: a form, client_id
// in the body, no secret, no cookie. The codes come from a real consent (test/oauth-client.ts).

afterEach(() => {
  vi.useRealTimers()
})

/**
 * A signed-in person's approved code (a new sign-in unless `cookie` is given), with what the
 * client needs to exchange it.
 */
async function approved(
  options: {
    cookie?: string
    grantTypes?: string[]
    overrides?: Record<string, string | undefined>
  } = {},
) {
  const cookie = options.cookie ?? (await signIn()).cookie
  const clientId = await register([LOOPBACK_REDIRECT], 'Test MCP Client', options.grantTypes)
  const { verifier, challenge } = await pkce()
  const code = await approvedCode(cookie, clientId, challenge, options.overrides)
  const exchange = {
    grant_type: 'authorization_code',
    client_id: clientId,
    code,
    code_verifier: verifier,
    redirect_uri: LOOPBACK_REDIRECT,
    resource: MCP,
  }
  return { cookie, exchange }
}

/** An OAuth error answer: its status, RFC 6749 §5.2 body and no-store headers. */
async function oauthError(response: Response, error: string, status = 400) {
  expect(response.status).toBe(status)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('pragma')).toBe('no-cache')
  const body = (await response.json()) as { error: string; error_description: string }
  expect(body.error).toBe(error)
  expect(body.error_description).toBeTruthy()
  return body.error_description
}

/** A refresh as the client sends it. */
const refreshWith = (clientId: string, refreshToken: string, extra: Record<string, string> = {}) =>
  tokenRequest({
    grant_type: 'refresh_token',
    client_id: clientId,
    refresh_token: refreshToken,
    ...extra,
  })

async function tokensFrom(response: Response): Promise<Tokens> {
  expect(response.status).toBe(200)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('pragma')).toBe('no-cache')
  return (await response.json()) as Tokens
}

describe('authorization_code', () => {
  it('a code and its verifier give tokens that act as the person on the resource', async () => {
    const { exchange } = await approved({ overrides: { scope: 'tools:read' } })
    const tokens = await tokensFrom(await tokenRequest(exchange))
    expect(tokens.token_type).toBe('Bearer')
    expect(tokens.access_token).toMatch(/^gwat_/)
    expect(tokens.refresh_token).toMatch(/^gwrt_/)
    expect(tokens.expires_in).toBeGreaterThan(0)
    expect(tokens.scope).toBe('tools:read')
    expect(await mcpStatus(tokens.access_token)).toBe(200)
  })

  it('without resource in the exchange, the code’s own resource is used', async () => {
    const { exchange } = await approved()
    const { resource: _resource, ...withoutResource } = exchange
    const tokens = await tokensFrom(await tokenRequest(withoutResource))
    expect(await mcpStatus(tokens.access_token)).toBe(200)
  })

  it('a second use is invalid_grant and ends the grant the first use made', async () => {
    const { exchange } = await approved()
    const first = await tokensFrom(await tokenRequest(exchange))
    expect(await mcpStatus(first.access_token)).toBe(200)
    await oauthError(await tokenRequest(exchange), 'invalid_grant')
    // What the first use issued no longer works: the access token, nor its refresh token.
    expect(await mcpStatus(first.access_token)).toBe(401)
    await oauthError(await refreshWith(exchange.client_id, first.refresh_token), 'invalid_grant')
  })

  it('is bound to its client, redirect URI, resource and PKCE verifier; a wrong try does not spend it', async () => {
    const { exchange } = await approved()
    const otherClient = await register()
    const { verifier: otherVerifier } = await pkce()
    await oauthError(await tokenRequest({ ...exchange, client_id: otherClient }), 'invalid_grant')
    await oauthError(
      await tokenRequest({ ...exchange, redirect_uri: 'http://127.0.0.1:8976/other' }),
      'invalid_grant',
    )
    await oauthError(await tokenRequest({ ...exchange, resource: `${GATEWAY}/` }), 'invalid_target')
    await oauthError(
      await tokenRequest({ ...exchange, code_verifier: otherVerifier }),
      'invalid_grant',
    )
    // The challenge itself is not the verifier.
    await oauthError(
      await tokenRequest({ ...exchange, code_verifier: `${exchange.code_verifier}x` }),
      'invalid_grant',
    )
    const tokens = await tokensFrom(await tokenRequest(exchange))
    expect(await mcpStatus(tokens.access_token)).toBe(200)
  })

  it('a code more than 60 s old is refused', async () => {
    const { exchange } = await approved()
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 })
    await oauthError(await tokenRequest(exchange), 'invalid_grant')
  })

  it('a code whose approving browser session has ended is refused, whatever other sessions the person has', async () => {
    const email = uniqueEmail('two-browsers')
    const { cookie } = await signIn(email)
    const elsewhere = await signInWithCode(email)
    const { exchange } = await approved({ cookie })
    const signedOut = await gateway('/auth/logout', form({}, { cookie }))
    expect(signedOut.status).toBeLessThan(400)
    expect(await meStatus(elsewhere.cookie)).toBe(200)
    await oauthError(await tokenRequest(exchange), 'invalid_grant')
  })

  it('a missing or malformed parameter is invalid_request', async () => {
    const { exchange } = await approved()
    for (const name of ['code', 'code_verifier', 'redirect_uri'] as const) {
      const { [name]: _left, ...rest } = exchange
      await oauthError(await tokenRequest(rest), 'invalid_request')
    }
    for (const verifier of ['too-short', 'a'.repeat(129), `${'a'.repeat(42)} `])
      await oauthError(
        await tokenRequest({ ...exchange, code_verifier: verifier }),
        'invalid_request',
      )
    await oauthError(await tokenRequest({ ...exchange, code: 'x'.repeat(43) }), 'invalid_grant')
  })
})

describe('refresh_token', () => {
  it('rotates: the new pair works, the old refresh token is spent, and presenting it again ends the grant', async () => {
    const { exchange } = await approved()
    const first = await tokensFrom(await tokenRequest(exchange))
    const refresh = (refreshToken: string) =>
      refreshWith(exchange.client_id, refreshToken, { resource: MCP })
    const second = await tokensFrom(await refresh(first.refresh_token))
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect(second.access_token).not.toBe(first.access_token)
    expect(await mcpStatus(second.access_token)).toBe(200)
    // The first refresh token again: someone else has it. The whole grant ends.
    await oauthError(await refresh(first.refresh_token), 'invalid_grant')
    expect(await mcpStatus(second.access_token)).toBe(401)
    await oauthError(await refresh(second.refresh_token), 'invalid_grant')
  })

  it('is bound to its client and its resource', async () => {
    const { exchange } = await approved()
    const tokens = await tokensFrom(await tokenRequest(exchange))
    const otherClient = await register()
    await oauthError(await refreshWith(otherClient, tokens.refresh_token), 'invalid_grant')
    await oauthError(
      await refreshWith(exchange.client_id, tokens.refresh_token, { resource: `${GATEWAY}/` }),
      'invalid_target',
    )
    // Neither spent it.
    await tokensFrom(await refreshWith(exchange.client_id, tokens.refresh_token))
  })
})

describe('the token endpoint', () => {
  it('knows only registered public clients: unknown or missing client_id is 401 invalid_client, and so is a secret', async () => {
    const { exchange } = await approved()
    await oauthError(
      await tokenRequest({ ...exchange, client_id: 'gwc_AAAAAAAAAAAAAAAAAAAAAA' }),
      'invalid_client',
      401,
    )
    const { client_id: _id, ...noClient } = exchange
    await oauthError(await tokenRequest(noClient), 'invalid_client', 401)
    await oauthError(
      await tokenRequest({ ...exchange, client_secret: 'guess' }),
      'invalid_client',
      401,
    )
  })

  it('lets a client use only the grants it registered', async () => {
    const { exchange } = await approved({ grantTypes: ['authorization_code'] })
    const tokens = await tokensFrom(await tokenRequest(exchange))
    await oauthError(
      await refreshWith(exchange.client_id, tokens.refresh_token),
      'unauthorized_client',
    )
  })

  it('answers unsupported_grant_type for other grants', async () => {
    const clientId = await register()
    for (const grantType of ['password', 'client_credentials', '__proto__'])
      await oauthError(
        await tokenRequest({ grant_type: grantType, client_id: clientId }),
        'unsupported_grant_type',
      )
    await oauthError(await tokenRequest({ client_id: clientId }), 'invalid_request')
  })

  it('takes a form only, each parameter once', async () => {
    const { exchange } = await approved()
    const asJson = await gatewayWith({ ACCESS }, '/auth/oauth/token', json(exchange))
    expect(await oauthError(asJson, 'invalid_request')).toContain('x-www-form-urlencoded')
    const doubled = `${new URLSearchParams(exchange)}&code=${exchange.code}`
    const twice = await gatewayWith({ ACCESS }, '/auth/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: doubled,
    })
    expect(await oauthError(twice, 'invalid_request')).toContain('more than once')
    // Neither spent the code.
    await tokensFrom(await tokenRequest(exchange))
  })
})

describe('revocation (RFC 7009)', () => {
  it('an access token revoked ends its grant: it and the refresh token stop working', async () => {
    const { exchange } = await approved()
    const tokens = await tokensFrom(await tokenRequest(exchange))
    const response = await revokeRequest({
      token: tokens.access_token,
      token_type_hint: 'access_token',
      client_id: exchange.client_id,
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await mcpStatus(tokens.access_token)).toBe(401)
    await oauthError(await refreshWith(exchange.client_id, tokens.refresh_token), 'invalid_grant')
  })

  it('a refresh token revoked ends its grant too', async () => {
    const { exchange } = await approved()
    const tokens = await tokensFrom(await tokenRequest(exchange))
    expect((await revokeRequest({ token: tokens.refresh_token })).status).toBe(200)
    expect(await mcpStatus(tokens.access_token)).toBe(401)
  })

  it('answers 200 for an unknown token or another client’s, and revokes nothing of the other’s', async () => {
    expect((await revokeRequest({ token: 'nonsense' })).status).toBe(200)
    expect(
      (await revokeRequest({ token: `gwat_${'A'.repeat(43)}.${'B'.repeat(43)}.${'C'.repeat(43)}` }))
        .status,
    ).toBe(200)
    const { exchange } = await approved()
    const tokens = await tokensFrom(await tokenRequest(exchange))
    const otherClient = await register()
    expect(
      (await revokeRequest({ token: tokens.access_token, client_id: otherClient })).status,
    ).toBe(200)
    expect(await mcpStatus(tokens.access_token)).toBe(200)
  })

  it('without a token, or not as a form, is invalid_request', async () => {
    await oauthError(
      await revokeRequest({ client_id: 'gwc_AAAAAAAAAAAAAAAAAAAAAA' }),
      'invalid_request',
    )
    await oauthError(
      await gatewayWith({ ACCESS }, '/auth/oauth/revoke', json({ token: 'x' })),
      'invalid_request',
    )
  })
})
