import { describe, expect, it } from 'vitest'
import { GATEWAY, gatewayWith, signIn } from './helpers'
import {
  ACCESS,
  LOOPBACK_REDIRECT,
  MCP,
  type Tokens,
  approvedCode,
  authorizePath,
  exchangeCode,
  navigate,
  pkce,
  register,
  tokenRequest,
} from './oauth-client'

// The gateway as an OAuth authorization server, attacked black-box over HTTP (README "Command
// lines and AI agents"): a malicious OAuth client that registers itself with any name and
// redirect URI, a malicious origin that sees what the gateway forwards, and anyone on the
// internet with a link to send.

/** A person's access and refresh tokens for `resource`, through the real consent and exchange. */
async function tokensFor(cookie: string, resource = MCP): Promise<Tokens & { clientId: string }> {
  const clientId = await register()
  const { verifier, challenge } = await pkce()
  const code = await approvedCode(cookie, clientId, challenge, { resource })
  const response = await exchangeCode(clientId, code, verifier)
  expect(response.status).toBe(200)
  return { ...((await response.json()) as Tokens), clientId }
}

/** What the echo origin saw of a request, or the gateway's status when it answered itself. */
async function originSaw(path: string, headers: HeadersInit) {
  const response = await gatewayWith({ ACCESS }, path, { headers })
  if (response.status !== 200) {
    await response.body?.cancel()
    return { status: response.status, headers: {} as Record<string, string> }
  }
  const seen = (await response.json()) as { headers: Record<string, string> }
  return { status: 200, headers: seen.headers }
}

describe('a malicious origin', () => {
  it('never sees the token, however the client spells or repeats its Authorization header', async () => {
    const { cookie } = await signIn()
    const { access_token } = await tokensFor(cookie)
    const spellings: HeadersInit[] = [
      { authorization: `bearer ${access_token}` },
      { authorization: `BEARER   ${access_token}  ` },
      { Authorization: `Bearer\t${access_token}` },
      // Two headers, joined by the runtime: the token behind another scheme.
      [
        ['authorization', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l'],
        ['authorization', `Bearer ${access_token}`],
      ],
      [
        ['cookie', cookie],
        ['authorization', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l'],
        ['authorization', `Bearer ${access_token}`],
      ],
      { cookie, authorization: `Basic x, Bearer ${access_token}` },
      { cookie, authorization: `Token ${access_token}` },
      { cookie, authorization: access_token },
    ]
    for (const headers of spellings) {
      const seen = await originSaw('/mcp/tools', headers)
      expect(JSON.stringify(seen.headers), JSON.stringify(headers)).not.toContain('gwat_')
    }
  })

  it('never sees a refresh token either', async () => {
    const { cookie } = await signIn()
    const { refresh_token } = await tokensFor(cookie)
    const spellings: Record<string, string>[] = [
      { authorization: `Bearer ${refresh_token}` },
      { cookie, authorization: `Bearer ${refresh_token}` },
      { cookie, authorization: `Basic x, Bearer ${refresh_token}` },
    ]
    for (const headers of spellings) {
      const seen = await originSaw('/mcp/tools', headers)
      expect(JSON.stringify(seen.headers)).not.toContain('gwrt_')
    }
  })
})

describe('a stolen access token', () => {
  it('opens its own resource only: not a path beside it, above it, or through dot segments', async () => {
    const { cookie } = await signIn()
    const { access_token } = await tokensFor(cookie)
    const bearer = { authorization: `Bearer ${access_token}`, accept: 'application/json' }
    expect((await originSaw('/mcp/tools', bearer)).status).toBe(200)
    for (const path of ['/mcpx', '/mcp/../admin', '/mcp/%2e%2e/admin', '/', '/MCPX/y', '/ops/x'])
      expect((await originSaw(path, bearer)).status, path).toBe(401)
  })

  it('opens no page of the gateway’s own, forward-auth included', async () => {
    const { cookie } = await signIn()
    const { access_token } = await tokensFor(cookie)
    const bearer = { authorization: `Bearer ${access_token}`, accept: 'application/json' }
    for (const path of ['/auth/me', '/auth/sessions', '/auth/admin/sessions']) {
      const response = await gatewayWith({ ACCESS }, path, { headers: bearer })
      await response.body?.cancel()
      expect(response.status, path).not.toBe(200)
    }
    const verify = await gatewayWith({ ACCESS }, '/auth/verify', {
      headers: {
        ...bearer,
        'x-forwarded-uri': '/mcp/tools',
        'x-forwarded-method': 'GET',
        'x-forwarded-host': new URL(GATEWAY).host,
      },
    })
    await verify.body?.cancel()
    expect(verify.status).toBe(401)
  })

  it('a refresh token is no access token, and an access token refreshes nothing', async () => {
    const { cookie } = await signIn()
    const { access_token, refresh_token, clientId } = await tokensFor(cookie)
    expect(
      (await originSaw('/mcp/tools', { authorization: `Bearer ${refresh_token}` })).status,
    ).toBe(401)
    const refreshed = await tokenRequest({
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: access_token,
    })
    expect(refreshed.status).toBe(400)
    await refreshed.body?.cancel()
  })
})

describe('a malicious client', () => {
  const evil = 'https://evil.example/landing'
  const evilRequest = (clientId: string, challenge: string, overrides: Record<string, string>) =>
    authorizePath({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: evil,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'x',
      resource: MCP,
      ...overrides,
    })

  it('cannot use the authorization endpoint as an open redirect to its https site', async () => {
    const clientId = await register([evil], 'Totally legit')
    const { challenge } = await pkce()
    const asks: Record<string, string>[] = [
      { response_type: 'token' },
      { code_challenge_method: 'plain' },
      { resource: 'https://nowhere.example/' },
      { state: 'x'.repeat(1500) },
    ]
    for (const overrides of asks) {
      const response = await navigate(evilRequest(clientId, challenge, overrides))
      expect(response.headers.get('location'), JSON.stringify(overrides)).toBeNull()
      expect(response.status).toBe(400)
      expect(await response.text()).not.toContain('evil.example')
    }
    // A signed-in person the route refuses is not sent there unasked either.
    const { cookie } = await signIn()
    const refused = await navigate(
      evilRequest(clientId, challenge, { resource: `${GATEWAY}/ops` }),
      cookie,
    )
    expect(refused.headers.get('location')).toBeNull()
    expect(refused.status).toBe(403)
    await refused.body?.cancel()
  })

  it('still gets its errors at a loopback redirect URI, the person’s own machine', async () => {
    const clientId = await register()
    const { challenge } = await pkce()
    const response = await navigate(
      authorizePath({
        response_type: 'token',
        client_id: clientId,
        redirect_uri: LOOPBACK_REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: MCP,
      }),
    )
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:8976\/callback\?/)
  })
})

describe('a thief with a token or a code', () => {
  it('cannot splice one grant’s id or person key into another token', async () => {
    const { cookie } = await signIn()
    const mine = await tokensFor(cookie)
    const other = await tokensFor((await signIn()).cookie)
    const [, grantA, personA, secretA] = /^gwat_([^.]+)\.([^.]+)\.(.+)$/.exec(mine.access_token)!
    const [, grantB, personB] = /^gwat_([^.]+)\.([^.]+)\./.exec(other.access_token)!
    for (const spliced of [
      `gwat_${grantB}.${personB}.${secretA}`,
      `gwat_${grantA}.${personB}.${secretA}`,
      `gwat_${grantB}.${personA}.${secretA}`,
    ])
      expect((await originSaw('/mcp/tools', { authorization: `Bearer ${spliced}` })).status).toBe(
        401,
      )
  })

  it('cannot exchange an authorization code as a device code', async () => {
    const clientId = await register([LOOPBACK_REDIRECT], 'Both', [
      'authorization_code',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:device_code',
    ])
    const { verifier, challenge } = await pkce()
    const code = await approvedCode((await signIn()).cookie, clientId, challenge)
    const asDevice = await tokenRequest({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      client_id: clientId,
      device_code: code,
    })
    expect(asDevice.status).toBe(400)
    expect(await asDevice.text()).not.toContain(code)
    // The code is still its own flow's, once.
    const exchanged = await exchangeCode(clientId, code, verifier)
    expect(exchanged.status).toBe(200)
    await exchanged.body?.cancel()
  })

  it('racing the client with a stolen refresh token: at most one side keeps a live pair', async () => {
    const { cookie } = await signIn()
    const { refresh_token, clientId } = await tokensFor(cookie)
    const refresh = () =>
      tokenRequest({ grant_type: 'refresh_token', client_id: clientId, refresh_token })
    const answers = await Promise.all([refresh(), refresh()])
    const pairs = await Promise.all(
      answers.map(async (r) => (r.status === 200 ? ((await r.json()) as Tokens) : null)),
    )
    const live = []
    for (const pair of pairs)
      if (pair)
        live.push(
          (await originSaw('/mcp/tools', { authorization: `Bearer ${pair.access_token}` }))
            .status === 200,
        )
    expect(live.filter(Boolean).length).toBeLessThanOrEqual(1)
  })
})

describe('a thief racing the client', () => {
  it('exchanging the same code at the same moment: at most one side gets tokens', async () => {
    const clientId = await register()
    const { verifier, challenge } = await pkce()
    const code = await approvedCode((await signIn()).cookie, clientId, challenge)
    const exchange = () => exchangeCode(clientId, code, verifier)
    const answers = await Promise.all([exchange(), exchange()])
    const live = []
    for (const answer of answers)
      if (answer.status === 200) {
        const { access_token } = (await answer.json()) as Tokens
        const seen = await originSaw('/mcp/tools', { authorization: `Bearer ${access_token}` })
        live.push(seen.status === 200)
      } else await answer.body?.cancel()
    expect(live.filter(Boolean).length).toBeLessThanOrEqual(1)
  })
})

describe('a phishing client', () => {
  it('its name is shown as text, marked as its own claim, never as markup', async () => {
    const name = '<img src=x onerror=alert(1)>Sign-in service'
    const clientId = await register([LOOPBACK_REDIRECT], name)
    const { challenge } = await pkce()
    const page = await navigate(
      authorizePath({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: LOOPBACK_REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: MCP,
      }),
      (await signIn()).cookie,
    )
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    const html = await page.text()
    expect(html).not.toContain('<img src=x')
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;Sign-in service</strong>')
    expect(html).toContain('(as it calls itself)')
  })

  it('a client registered under another client’s name is told apart by its id and where it sends the code', async () => {
    const genuine = await register([LOOPBACK_REDIRECT], 'Claude Desktop')
    const impostorRedirect = 'https://collector.example/callback'
    const impostor = await register([impostorRedirect], 'Claude Desktop')
    expect(impostor).not.toBe(genuine)
    const { cookie } = await signIn()
    const consentPage = async (clientId: string, redirectUri: string) => {
      const { challenge } = await pkce()
      const page = await navigate(
        authorizePath({
          response_type: 'code',
          client_id: clientId,
          redirect_uri: redirectUri,
          code_challenge: challenge,
          code_challenge_method: 'S256',
          resource: MCP,
        }),
        cookie,
      )
      expect(page.status).toBe(200)
      return page.text()
    }
    const genuinePage = await consentPage(genuine, LOOPBACK_REDIRECT)
    const impostorPage = await consentPage(impostor, impostorRedirect)
    // Same claimed name, marked as a claim on both; the facts the gateway vouches for differ.
    for (const page of [genuinePage, impostorPage]) expect(page).toContain('(as it calls itself)')
    expect(impostorPage).toContain(impostor)
    expect(impostorPage).toContain('collector.example')
    expect(impostorPage).not.toContain(genuine)
    expect(genuinePage).toContain('127.0.0.1')
    expect(genuinePage).not.toContain('collector.example')
  })
})
