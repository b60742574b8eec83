import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { AppEnv } from '../src/app-env'
import { oauthClientKey } from '../src/kv/keys'
import { readClient, redirectUriMatches, type OAuthClient } from '../src/oauth/clients'
import worker from '../src/index'
import { gateway, json } from './helpers'

// Dynamic client registration (RFC 7591) as anyone on the internet can try it: public clients
// only, redirect URIs a person's own machine or an https site owns, names that cannot pass for
// something else, a limit per client address, and readable from any page.

const REGISTER = '/auth/oauth/register'
// The endpoints browser-based clients call with fetch: registration, token, revocation, device.
const OAUTH_API = [
  REGISTER,
  '/auth/oauth/token',
  '/auth/oauth/revoke',
  '/auth/oauth/device_authorization',
]
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const DAY = 24 * 60 * 60

interface Registered {
  client_id: string
  client_id_issued_at: number
  client_name?: string
  redirect_uris: string[]
  grant_types: string[]
  response_types: string[]
  token_endpoint_auth_method: string
  client_secret?: string
}
interface Refusal {
  error: string
  error_description: string
}

const register = (body: unknown, headers: Record<string, string> = {}) =>
  gateway(REGISTER, json(body, headers))

async function refusal(response: Response): Promise<[number, string]> {
  const body = (await response.json()) as Refusal
  expect(body.error_description).toEqual(expect.any(String))
  return [response.status, body.error]
}

/** A fresh IPv6 /64 per call: its own rate-limit bucket. */
const freshClientAddress = () =>
  `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}::1`

describe('registration', () => {
  it('registers a public client: 201, its metadata, no secret, no-store, kept 30 days', async () => {
    const before = Math.floor(Date.now() / 1000)
    const response = await register({
      client_name: '  Claude Desktop  ',
      redirect_uris: ['http://localhost:1234/cb', 'https://app.example.com/oauth/callback'],
      token_endpoint_auth_method: 'none',
      scope: 'mcp',
      logo_uri: 'https://app.example.com/logo.png',
    })
    expect(response.status).toBe(201)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = (await response.json()) as Registered
    expect(body).toEqual({
      client_id: expect.stringMatching(/^gwc_[A-Za-z0-9_-]{22}$/),
      client_id_issued_at: expect.any(Number),
      client_name: 'Claude Desktop',
      redirect_uris: ['http://localhost:1234/cb', 'https://app.example.com/oauth/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    })
    expect(body.client_id_issued_at).toBeGreaterThanOrEqual(before)
    const { keys } = await env.SESSIONS.list({ prefix: oauthClientKey(body.client_id) })
    expect(keys).toHaveLength(1)
    expect(keys[0]!.expiration! - before).toBeGreaterThanOrEqual(30 * DAY - 5)
    expect(keys[0]!.expiration! - before).toBeLessThanOrEqual(30 * DAY + 5)
  })

  it('each registration is a new client id', async () => {
    const body = { redirect_uris: ['http://127.0.0.1/cb'] }
    const first = (await (await register(body)).json()) as Registered
    const second = (await (await register(body)).json()) as Registered
    expect(first.client_id).not.toBe(second.client_id)
  })

  it('redirect URIs: https, or loopback http on any port; anything else is invalid_redirect_uri', async () => {
    const accepted = [
      'http://localhost:1234/cb',
      'http://127.0.0.1/callback',
      'http://127.0.0.1:33418',
      'http://[::1]:8080/oauth/callback?x=1',
      'https://app.example.com/oauth/callback',
    ]
    for (const uri of accepted) {
      const response = await register({ redirect_uris: [uri] })
      expect(response.status, uri).toBe(201)
      expect(((await response.json()) as Registered).redirect_uris).toEqual([uri])
    }
    const refused = [
      'http://example.com/cb',
      'http://127.0.0.1.evil.com/cb',
      'http://localhost.evil.com/cb',
      'http://127.0.0.1@evil.com/cb',
      'http://user:pass@127.0.0.1/cb',
      'https://app.example.com@evil.com/cb',
      'javascript:alert(document.cookie)',
      'JavaScript://127.0.0.1/%0aalert(1)',
      'data:text/html,<script>alert(1)</script>',
      'file:///etc/passwd',
      'cursor://anysphere.cursor-retrieval/oauth/callback',
      'https://app.example.com/cb#fragment',
      'https://app.example.com/cb#',
      'https:app.example.com/cb',
      'http:\\\\127.0.0.1\\cb',
      'https://app.example.com/c b',
      'https://app.exam\tple.com/cb',
      ' https://app.example.com/cb',
      '/relative/cb',
      '',
      `https://app.example.com/${'a'.repeat(2000)}`,
    ]
    for (const uri of refused) {
      const response = await register({ redirect_uris: ['https://app.example.com/ok', uri] })
      expect(await refusal(response), uri).toEqual([400, 'invalid_redirect_uri'])
    }
    for (const redirect_uris of [undefined, [], 'https://app.example.com/cb', [42]]) {
      const response = await register({ redirect_uris })
      expect(await refusal(response), JSON.stringify(redirect_uris)).toEqual([
        400,
        'invalid_redirect_uri',
      ])
    }
  })

  it('refuses confidential clients: any token_endpoint_auth_method but none', async () => {
    for (const method of [
      'client_secret_basic',
      'client_secret_post',
      'client_secret_jwt',
      'private_key_jwt',
      'tls_client_auth',
      'None',
      '',
      null,
      42,
    ]) {
      const response = await register({
        redirect_uris: ['http://127.0.0.1/cb'],
        token_endpoint_auth_method: method,
      })
      expect(await refusal(response), String(method)).toEqual([400, 'invalid_client_metadata'])
    }
  })

  it('a device-only client needs no redirect URI', async () => {
    for (const grant_types of [[DEVICE_GRANT], [DEVICE_GRANT, 'refresh_token']]) {
      const response = await register({ client_name: 'gw CLI', grant_types })
      expect(response.status).toBe(201)
      expect(await response.json()).toMatchObject({
        redirect_uris: [],
        grant_types,
        response_types: [],
        token_endpoint_auth_method: 'none',
      })
    }
    // …but its redirect URIs, if it names any, follow the same rules.
    const bad = await register({ grant_types: [DEVICE_GRANT], redirect_uris: ['http://evil.com/'] })
    expect(await refusal(bad)).toEqual([400, 'invalid_redirect_uri'])
  })

  it('grant and response types: only the three grants, only code, and consistent', async () => {
    const uris = { redirect_uris: ['http://127.0.0.1/cb'] }
    const refused: Record<string, unknown>[] = [
      { grant_types: ['client_credentials'] },
      { grant_types: ['implicit'] },
      { grant_types: ['password', 'authorization_code'] },
      { grant_types: ['refresh_token'] },
      { grant_types: [] },
      { grant_types: 'authorization_code' },
      { response_types: ['token'] },
      { response_types: ['code', 'id_token'] },
      { response_types: [] },
      { grant_types: [DEVICE_GRANT], response_types: ['code'] },
    ]
    for (const metadata of refused) {
      const response = await register({ ...uris, ...metadata })
      expect(await refusal(response), JSON.stringify(metadata)).toEqual([
        400,
        'invalid_client_metadata',
      ])
    }
    const all = await register({
      ...uris,
      grant_types: ['authorization_code', DEVICE_GRANT, 'refresh_token', 'refresh_token'],
      response_types: ['code'],
    })
    expect(((await all.json()) as Registered).grant_types).toEqual([
      'authorization_code',
      DEVICE_GRANT,
      'refresh_token',
    ])
  })

  it('client_name: trimmed, at most 100 characters, no control or text-direction characters', async () => {
    const uris = { redirect_uris: ['http://127.0.0.1/cb'] }
    const hundred = 'é'.repeat(100)
    const ok = await register({ ...uris, client_name: hundred })
    expect(((await ok.json()) as Registered).client_name).toBe(hundred)
    const none = await register(uris)
    expect((await none.json()) as Registered).not.toHaveProperty('client_name')
    for (const client_name of [
      'x'.repeat(101),
      'Claude\nApproved by your administrator',
      'Bad\u0000Name',
      'evil\u202Eedoc\u202C',
      'a\u2028b',
      'a\u2066b',
      'a\u0085b',
      42,
      ['Claude'],
    ]) {
      const response = await register({ ...uris, client_name })
      expect(await refusal(response), JSON.stringify(client_name)).toEqual([
        400,
        'invalid_client_metadata',
      ])
    }
  })

  it('the body must be a JSON object sent as application/json', async () => {
    const uris = JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'] })
    const asked: RequestInit[] = [
      { method: 'POST', headers: { 'content-type': 'text/plain' }, body: uris },
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'redirect_uris=http://127.0.0.1/cb',
      },
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"redirect_uris": [',
      },
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '["x"]' },
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' },
    ]
    for (const init of asked) {
      const response = await gateway(REGISTER, init)
      expect(await refusal(response), String(init.body)).toEqual([400, 'invalid_client_metadata'])
    }
  })

  it('is rate limited per client address: 10 a minute, then 429 with Retry-After', async () => {
    const ip = { 'cf-connecting-ip': freshClientAddress() }
    const body = { redirect_uris: ['http://127.0.0.1/cb'] }
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) statuses.push((await register(body, ip)).status)
    expect(statuses).toEqual([...Array(10).fill(201), 429])
    const limited = await register(body, ip)
    expect(await refusal(limited)).toEqual([429, 'too_many_requests'])
    expect(limited.headers.get('retry-after')).toBe('60')
    // Refused requests count too: a flood of bad ones is still a flood.
    expect((await register({}, ip)).status).toBe(429)
    // Another client is not affected.
    expect((await register(body)).status).toBe(201)
  })
})

describe('from a browser-based client on another origin', () => {
  const crossSite = { origin: 'https://inspector.example', 'sec-fetch-site': 'cross-site' }

  it('registers, and reads the answer and refusals (Access-Control-Allow-Origin: *, no credentials)', async () => {
    const response = await register({ redirect_uris: ['http://localhost:6274/cb'] }, crossSite)
    expect(response.status).toBe(201)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.has('access-control-allow-credentials')).toBe(false)
    const refused = await register({ redirect_uris: ['http://evil.com/'] }, crossSite)
    expect(refused.status).toBe(400)
    expect(refused.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('preflights of the OAuth API endpoints: 204, POST, content-type and authorization', async () => {
    for (const path of OAUTH_API) {
      const preflight = await gateway(path, {
        method: 'OPTIONS',
        headers: {
          ...crossSite,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      })
      expect(preflight.status, path).toBe(204)
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
      expect(preflight.headers.get('access-control-allow-methods')).toBe('POST')
      expect(preflight.headers.get('access-control-allow-headers')).toBe(
        'content-type, authorization',
      )
      expect(preflight.headers.has('access-control-allow-credentials')).toBe(false)
    }
  })

  it('the CSRF check lets cross-site posts to the OAuth API endpoints through, and only them', async () => {
    for (const path of OAUTH_API) {
      const response = await gateway(path, {
        method: 'POST',
        headers: { ...crossSite, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=refresh_token&refresh_token=x',
      })
      const body = (await response.json()) as { error: string }
      expect(response.status, path).not.toBe(403)
      expect(body.error, path).not.toBe('cross_site_request')
    }
    // The gateway's own forms still refuse another site.
    const logout = await gateway('/auth/logout', {
      method: 'POST',
      headers: { ...crossSite, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    })
    expect(logout.status).toBe(403)
  })
})

describe('under SIGN_IN_HOST', () => {
  const SETTINGS = { SIGN_IN_HOST: 'gateway.test', ALLOWED_HOSTS: 'gateway.test, app.gateway.test' }

  async function registerAt(host: string) {
    const ctx = createExecutionContext()
    const request = new Request(`https://${host}${REGISTER}`, {
      ...json({ redirect_uris: ['http://127.0.0.1/cb'] }),
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': freshClientAddress() },
    })
    const response = await worker.fetch(request, { ...env, ...SETTINGS } as Env, ctx)
    await waitOnExecutionContext(ctx)
    return response
  }

  it('registration is the sign-in host’s alone: 404 on an app host', async () => {
    expect((await registerAt('app.gateway.test')).status).toBe(404)
    expect((await registerAt('gateway.test')).status).toBe(201)
  })
})

describe('the client store', () => {
  const client = (redirectUris: string[]): OAuthClient => ({
    clientId: 'gwc_AAAAAAAAAAAAAAAAAAAAAA',
    clientName: 'x',
    redirectUris,
    grantTypes: ['authorization_code'],
    createdAt: 0,
  })

  it('matches a redirect URI exactly, but a loopback one on any port (RFC 8252 §7.3)', () => {
    const loopback = client([
      'http://127.0.0.1/cb',
      'http://localhost:1234/callback',
      'http://[::1]/cb?app=1',
    ])
    for (const uri of [
      'http://127.0.0.1/cb',
      'http://127.0.0.1:5555/cb',
      'http://localhost:1234/callback',
      'http://localhost:9/callback',
      'http://localhost/callback',
      'http://[::1]:61000/cb?app=1',
    ])
      expect(redirectUriMatches(loopback, uri), uri).toBe(true)
    for (const uri of [
      'http://127.0.0.1:5555/other',
      'http://127.0.0.1:5555/cb/',
      'http://127.0.0.1:5555/cb?x=1',
      'http://127.0.0.1:5555/cb#x',
      'http://localhost:5555/cb',
      'http://127.0.0.1.evil.com:5555/cb',
      'http://a@127.0.0.1:5555/cb',
      'http://127.0.0.1:5555/cb\t',
      'https://127.0.0.1:5555/cb',
      'http://[::1]:61000/cb',
    ])
      expect(redirectUriMatches(loopback, uri), uri).toBe(false)

    const site = client(['https://app.example.com/cb'])
    expect(redirectUriMatches(site, 'https://app.example.com/cb')).toBe(true)
    for (const uri of [
      'https://app.example.com:8443/cb',
      'https://app.example.com/cb?x',
      'https://APP.example.com/cb',
      'https://app.example.com/cb/',
      'http://app.example.com/cb',
    ])
      expect(redirectUriMatches(site, uri), uri).toBe(false)
  })

  /** readClient in a request of its own, as the authorization endpoint would call it. */
  async function read(clientId: string) {
    const probe = new Hono<AppEnv>().get('/', async (c) => c.json(await readClient(c, clientId)))
    const ctx = createExecutionContext()
    const response = await probe.fetch(new Request('https://gateway.test/'), env, ctx)
    await waitOnExecutionContext(ctx)
    return (await response.json()) as OAuthClient | null
  }

  async function expiresIn(clientId: string) {
    const { keys } = await env.SESSIONS.list({ prefix: oauthClientKey(clientId) })
    return keys[0]!.expiration! - Math.floor(Date.now() / 1000)
  }

  it('reads a registered client; a use renews its 30 days, at most once a day', async () => {
    const registered = (await (
      await register({ client_name: 'Inspector', redirect_uris: ['http://localhost:6274/cb'] })
    ).json()) as Registered
    const id = registered.client_id
    const found = await read(id)
    expect(found).toEqual({
      clientId: id,
      clientName: 'Inspector',
      redirectUris: ['http://localhost:6274/cb'],
      grantTypes: ['authorization_code', 'refresh_token'],
      createdAt: expect.any(Number),
    })
    expect(Math.floor(found!.createdAt / 1000)).toBe(registered.client_id_issued_at)

    // Last renewed an hour ago, expiring in a day: a use leaves it alone.
    const key = oauthClientKey(id)
    const stored = JSON.parse((await env.SESSIONS.get(key))!) as Record<string, unknown>
    const rewrite = (renewedAgo: number) =>
      env.SESSIONS.put(key, JSON.stringify({ ...stored, renewedAt: Date.now() - renewedAgo }), {
        expirationTtl: DAY,
      })
    await rewrite(3600 * 1000)
    expect((await read(id))?.clientId).toBe(id)
    expect(await expiresIn(id)).toBeLessThanOrEqual(DAY)
    // Last renewed more than a day ago: a use gives it 30 days again.
    await rewrite(DAY * 1000 + 1000)
    expect((await read(id))?.clientId).toBe(id)
    expect(await expiresIn(id)).toBeGreaterThan(29 * DAY)
  })

  it('an unknown, malformed or tampered client id is no client', async () => {
    expect(await read('gwc_AAAAAAAAAAAAAAAAAAAAAA')).toBeNull()
    expect(await read('not-a-client')).toBeNull()
    expect(await read('gwc_../../session:x')).toBeNull()
    // A record stored under one id that names another is not taken for either.
    const registered = (await (
      await register({ redirect_uris: ['http://127.0.0.1/cb'] })
    ).json()) as Registered
    const key = oauthClientKey(registered.client_id)
    const stored = JSON.parse((await env.SESSIONS.get(key))!) as Record<string, unknown>
    await env.SESSIONS.put(
      key,
      JSON.stringify({ ...stored, clientId: 'gwc_BBBBBBBBBBBBBBBBBBBBBB' }),
    )
    expect(await read(registered.client_id)).toBeNull()
  })
})
