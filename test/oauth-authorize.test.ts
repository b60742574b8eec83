import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { GATEWAY, sessionKvKeyOf, signIn, signInWithCode, uniqueEmail } from './helpers'
import {
  LOOPBACK_REDIRECT,
  MCP,
  answer,
  backAtClient,
  consentOf,
  navigate,
  pkce,
  register,
  requestFor,
} from './oauth-client'

// GET/POST /auth/oauth/authorize as an MCP client and a person's browser drive it: the client
// registers and sends the browser to the authorize URL; the person, signed in, reads the consent
// page and answers; the client reads the code (or the error) at its redirect URI.

afterEach(() => {
  vi.useRealTimers()
})

/** A page answer that is the gateway's own and not a redirect anywhere. */
async function ownErrorPage(response: Response, status = 400): Promise<string> {
  expect(response.status).toBe(status)
  expect(response.headers.get('location')).toBeNull()
  expect(response.headers.get('content-type')).toMatch(/text\/html/)
  return response.text()
}

describe('authorizing a client', () => {
  it('an approved consent sends a code, the state and iss to the redirect URI; the page names the client as its own claim, the redirect host, the application and the account', async () => {
    const email = uniqueEmail('consent')
    const { cookie } = await signIn(email)
    const clientId = await register([LOOPBACK_REDIRECT], 'Claude Desktop')
    const { challenge } = await pkce()
    // A loopback redirect on another port than registered (RFC 8252): the same client.
    const redirectUri = 'http://127.0.0.1:50123/callback'
    const page = await navigate(
      requestFor(clientId, challenge, { redirect_uri: redirectUri }),
      cookie,
    )
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('Claude Desktop')
    expect(html).toContain('(as it calls itself)')
    expect(html).toContain('127.0.0.1:50123')
    expect(html).toContain('Allow access to mcp?')
    expect(html).toContain(email)
    expect(html).toContain(MCP)
    expect(html).not.toMatch(/<script/i)
    // The form's answer goes on to the client's loopback address: the page's CSP lets it.
    expect(page.headers.get('content-security-policy')).toContain(
      "form-action 'self' https: http://127.0.0.1:50123",
    )
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(page.headers.get('cache-control')).toBe('no-store')

    const approved = await answer(cookie, consentOf(html), 'approve')
    expect(approved.status).toBe(303)
    const back = backAtClient(approved, redirectUri)
    expect(back.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(back.get('state')).toBe('client-state-123')
    expect(back.get('iss')).toBe(GATEWAY)
    expect(back.get('error')).toBeNull()
  })

  it('Deny sends access_denied with the state and iss, and no code', async () => {
    const { cookie } = await signIn()
    const clientId = await register()
    const page = await navigate(requestFor(clientId, (await pkce()).challenge), cookie)
    const back = backAtClient(await answer(cookie, consentOf(await page.text()), 'deny'))
    expect(back.get('error')).toBe('access_denied')
    expect(back.get('state')).toBe('client-state-123')
    expect(back.get('iss')).toBe(GATEWAY)
    expect(back.get('code')).toBeNull()
  })

  it('consent is asked again on every authorization, even of a client approved before', async () => {
    const { cookie } = await signInWithCode()
    const clientId = await register()
    const { challenge } = await pkce()
    const first = await navigate(requestFor(clientId, challenge), cookie)
    backAtClient(await answer(cookie, consentOf(await first.text()), 'approve'))
    const second = await navigate(requestFor(clientId, challenge), cookie)
    expect(second.status).toBe(200)
    expect(await second.text()).toContain('name="consent"')
  })
})

describe('before the redirect URI is trusted: the gateway’s own page, never a redirect', () => {
  it('an unknown client, or a missing, unregistered or doubled redirect_uri, is a 400 page', async () => {
    const clientId = await register()
    const { challenge } = await pkce()
    const unknown = await navigate(requestFor('gwc_AAAAAAAAAAAAAAAAAAAAAA', challenge))
    expect(await ownErrorPage(unknown)).toContain('not registered')
    const missingClient = await navigate(requestFor(clientId, challenge, { client_id: undefined }))
    await ownErrorPage(missingClient)
    for (const redirect of [
      undefined,
      'https://attacker.example/callback',
      'http://127.0.0.1.attacker.example:8976/callback',
      'http://127.0.0.1:8976/other',
      `${LOOPBACK_REDIRECT}?next=https://attacker.example`,
    ]) {
      const response = await navigate(requestFor(clientId, challenge, { redirect_uri: redirect }))
      expect(await ownErrorPage(response), String(redirect)).toContain('did not register')
    }
    const doubled = await navigate(
      `${requestFor(clientId, challenge)}&redirect_uri=${encodeURIComponent('https://attacker.example/cb')}`,
    )
    await ownErrorPage(doubled)
  })

  it('a signed-in person gets the same page: nothing is sent to an untrusted address', async () => {
    const { cookie } = await signIn()
    const clientId = await register()
    const response = await navigate(
      requestFor(clientId, (await pkce()).challenge, {
        redirect_uri: 'https://attacker.example/callback',
      }),
      cookie,
    )
    await ownErrorPage(response)
  })
})

describe('after the redirect URI is trusted: the error goes back to the client', () => {
  it.each([
    ['response_type=token', { response_type: 'token' }, 'unsupported_response_type'],
    ['no response_type', { response_type: undefined }, 'invalid_request'],
    [
      'no code_challenge_method (PKCE is required)',
      { code_challenge_method: undefined },
      'invalid_request',
    ],
    ['code_challenge_method=plain', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['no code_challenge', { code_challenge: undefined }, 'invalid_request'],
    ['a code_challenge that is no S256 hash', { code_challenge: 'short' }, 'invalid_request'],
    ['no resource', { resource: undefined }, 'invalid_target'],
    [
      'a resource this gateway does not front',
      { resource: 'https://other.example/mcp' },
      'invalid_target',
    ],
    ['a path inside a route, not its identifier', { resource: `${MCP}/tools` }, 'invalid_target'],
    [
      'the resource of a route that refuses tokens',
      { resource: `${GATEWAY}/browser-only` },
      'invalid_target',
    ],
    ['a resource with a query', { resource: `${MCP}?x=1` }, 'invalid_target'],
  ])('%s → %s', async (_, overrides, error) => {
    const clientId = await register()
    const { challenge } = await pkce()
    const back = backAtClient(await navigate(requestFor(clientId, challenge, overrides)))
    expect(back.get('error')).toBe(error)
    expect(back.get('error_description')).toBeTruthy()
    expect(back.get('state')).toBe('client-state-123')
    expect(back.get('iss')).toBe(GATEWAY)
    expect(back.get('code')).toBeNull()
  })

  it('a client that did not register the authorization_code grant is unauthorized_client', async () => {
    const deviceOnly = await register([LOOPBACK_REDIRECT], 'Device only', [
      'urn:ietf:params:oauth:grant-type:device_code',
      'refresh_token',
    ])
    const back = backAtClient(await navigate(requestFor(deviceOnly, (await pkce()).challenge)))
    expect(back.get('error')).toBe('unauthorized_client')
    expect(back.get('iss')).toBe(GATEWAY)
  })

  it('a parameter given twice, or two resources, is refused', async () => {
    const clientId = await register()
    const { challenge } = await pkce()
    const twice = backAtClient(
      await navigate(`${requestFor(clientId, challenge)}&code_challenge_method=plain`),
    )
    expect(twice.get('error')).toBe('invalid_request')
    const twoResources = backAtClient(
      await navigate(
        `${requestFor(clientId, challenge)}&resource=${encodeURIComponent(`${GATEWAY}/`)}`,
      ),
    )
    expect(twoResources.get('error')).toBe('invalid_target')
  })
})

describe('the person and the application’s policy', () => {
  it('a person not signed in is sent to sign in, and comes back to the same request', async () => {
    const clientId = await register()
    const request = requestFor(clientId, (await pkce()).challenge)
    const response = await navigate(request)
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe(
      `/auth/login?returnTo=${encodeURIComponent(request)}`,
    )
    // Signing in with that returnTo lands on the authorization request again.
    const email = uniqueEmail('returning')
    const { cookie, location } = await signIn(email, request)
    expect(location).toBe(request)
    const page = await navigate(request, cookie)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain(email)
  })

  it('a person the route refuses gets access_denied at the redirect URI, without a consent page', async () => {
    const { cookie } = await signIn()
    const clientId = await register()
    const response = await navigate(
      requestFor(clientId, (await pkce()).challenge, { resource: `${GATEWAY}/ops` }),
      cookie,
    )
    const back = backAtClient(response)
    expect(back.get('error')).toBe('access_denied')
    expect(back.get('state')).toBe('client-state-123')
    expect(back.get('iss')).toBe(GATEWAY)
    expect(await response.text()).not.toContain('name="consent"')
  })

  it('the route decides with the browser’s own address, as the gate would', async () => {
    const { cookie } = await signIn()
    const clientId = await register()
    const office = requestFor(clientId, (await pkce()).challenge, { resource: `${GATEWAY}/office` })
    const inside = await navigate(office, cookie, { 'cf-connecting-ip': '203.0.113.7' })
    expect(inside.status).toBe(200)
    const consent = consentOf(await inside.text())
    const outside = await navigate(office, cookie, { 'cf-connecting-ip': '198.51.100.7' })
    expect(backAtClient(outside).get('error')).toBe('access_denied')
    // Allow is decided again: the page shown inside, answered from outside, gives no code.
    const answeredOutside = await answer(cookie, consent, 'approve', {
      'cf-connecting-ip': '198.51.100.7',
    })
    expect(backAtClient(answeredOutside).get('error')).toBe('access_denied')
    const answeredInside = await answer(cookie, consent, 'approve', {
      'cf-connecting-ip': '203.0.113.7',
    })
    expect(backAtClient(answeredInside).get('code')).toBeTruthy()
  })

  it('a route asking for a recent sign-in or a second factor sends the person there first, then back here', async () => {
    const { cookie } = await signIn()
    const clientId = await register()
    const { challenge } = await pkce()
    // A sign-in older than the route's maxSignInAge (60 s).
    const key = await sessionKvKeyOf(cookie)
    const record = JSON.parse((await env.SESSIONS.get(key, 'text'))!)
    await env.SESSIONS.put(key, JSON.stringify({ ...record, createdAt: Date.now() - 120_000 }), {
      expirationTtl: 3600,
    })
    const fresh = requestFor(clientId, challenge, { resource: `${GATEWAY}/fresh` })
    const reauth = await navigate(fresh, cookie)
    expect(reauth.status).toBe(302)
    expect(reauth.headers.get('location')).toBe(
      `/auth/login?returnTo=${encodeURIComponent(fresh)}&reauth=1`,
    )
    const secondFactor = requestFor(clientId, challenge, { resource: `${GATEWAY}/mfa-only` })
    const mfa = await navigate(secondFactor, cookie)
    expect(mfa.status).toBe(302)
    expect(mfa.headers.get('location')).toBe(
      `/auth/mfa?returnTo=${encodeURIComponent(secondFactor)}`,
    )
  })
})

describe('the consent form', () => {
  async function consentFor(cookie: string) {
    const clientId = await register()
    const page = await navigate(requestFor(clientId, (await pkce()).challenge), cookie)
    return consentOf(await page.text())
  }

  it('altered, it is refused with the gateway’s own page and nothing reaches the client', async () => {
    const { cookie } = await signIn()
    const consent = await consentFor(cookie)
    const flipped = `${consent.slice(0, 20)}${consent[20] === 'A' ? 'B' : 'A'}${consent.slice(21)}`
    for (const altered of [flipped, consent.slice(0, -4), '', 'not-a-seal'])
      await ownErrorPage(await answer(cookie, altered, 'approve'))
  })

  it('shown to one person, it cannot be answered with another’s session, nor after signing out', async () => {
    const { cookie } = await signIn()
    const consent = await consentFor(cookie)
    const other = await signIn()
    await ownErrorPage(await answer(other.cookie, consent, 'approve'))
    await ownErrorPage(await answer('', consent, 'approve'))
  })

  it('older than ten minutes, it is refused', async () => {
    const { cookie } = await signIn()
    const consent = await consentFor(cookie)
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 11 * 60_000 })
    await ownErrorPage(await answer(cookie, consent, 'approve'))
  })

  it('posted from another site (CSRF), or sent by a script, it is refused', async () => {
    const { cookie } = await signIn()
    const consent = await consentFor(cookie)
    const crossSite = await answer(cookie, consent, 'approve', {
      origin: 'https://attacker.example',
    })
    expect(crossSite.status).toBe(403)
    expect(crossSite.headers.get('location')).toBeNull()
    const script = await answer(cookie, consent, 'approve', { 'sec-fetch-dest': 'empty' })
    expect(script.status).toBe(403)
    expect(script.headers.get('location')).toBeNull()
    // The page itself is not for a frame or a script either.
    const framed = await navigate(requestFor(await register(), (await pkce()).challenge), cookie, {
      'sec-fetch-dest': 'iframe',
    })
    expect(framed.status).toBe(403)
    // The genuine answer still works: nothing above spent it.
    expect(backAtClient(await answer(cookie, consent, 'approve')).get('code')).toBeTruthy()
  })

  it('a decision other than Allow or Deny is refused', async () => {
    const { cookie } = await signIn()
    const consent = await consentFor(cookie)
    await ownErrorPage(await answer(cookie, consent, 'maybe' as 'approve'))
  })
})
