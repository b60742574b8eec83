import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { ConfigError, parseConfig } from '../src/config'
import { sha256 } from '../src/crypto'
import { gatewayAt, signIn, uniqueEmail, sessionFor } from './helpers'

// ACCESS through the real Worker: routes by host, path and method, the rules, the answers, two
// origins and a service binding, CORS, and the invariants a hostile client probes.

const bindings = env as unknown as Record<string, string>
const SECOND_ORIGIN = bindings.TEST_SECOND_ORIGIN_URL!
const ADMIN_EMAIL = uniqueEmail('ops')
const BLOCKED_EMAIL = uniqueEmail('blocked')
const APP_ORIGIN = 'https://app.example.test'

const POLICY = {
  routes: [
    { name: 'status', path: '/status', public: true },
    { name: 'admin', host: 'admin.gateway.test', path: '/*', allow: [{ emails: [ADMIN_EMAIL] }] },
    {
      name: 'api',
      path: '/api/*',
      origin: SECOND_ORIGIN,
      allow: [{ domains: ['example.com'] }, { serviceTokens: ['ci-bot'] }],
      deny: [{ emails: [BLOCKED_EMAIL] }],
      cors: {
        origins: [APP_ORIGIN],
        methods: ['GET', 'POST'],
        headers: ['content-type'],
        credentials: true,
        maxAge: 600,
      },
    },
    { name: 'office', path: '/office/*', allow: [{ ips: ['203.0.113.0/24', '2001:db8:1::/48'] }] },
    { name: 'germany', path: '/de/*', allow: [{ countries: ['DE'] }] },
    { name: 'docs', path: '/docs/*', methods: ['GET', 'HEAD'], service: 'DOCS_SERVICE' },
    { name: 'read-only', path: '/write/*', allow: [{ methods: ['GET'] }] },
    { name: 'fresh', path: '/fresh/*', maxSignInAge: 60 },
    { name: 'no-sockets', path: '/nows/*', websockets: false },
    { name: 'app', path: '/app/*' },
  ],
}
const ACCESS = JSON.stringify(POLICY)

interface Echo {
  path: string
  headers: Record<string, string>
}

/** A request through the Worker with ACCESS set, to any host. */
const call = (url: string, init: RequestInit & { cf?: object } = {}, overrides = {}) =>
  gatewayAt(url, init, { ACCESS, ...overrides })

const asJson = { accept: 'application/json' }
const asBrowser = { accept: 'text/html' }
const signedIn = sessionFor

describe('routes and answers', () => {
  it('a public route needs no session, and still carries identity when there is one', async () => {
    const anonymous = await call('/status', { headers: asJson })
    expect(anonymous.status).toBe(200)
    expect(((await anonymous.json()) as Echo).headers['x-auth-user']).toBeUndefined()
    const email = uniqueEmail()
    const cookie = await signedIn(email)
    const known = (await (await call('/status', { headers: { cookie } })).json()) as Echo
    expect(known.headers['x-auth-email']).toBe(email)
    expect(known.headers['x-auth-route']).toBe('status')
  })

  it('no route: 404 no_route, a page for browsers, never the origin', async () => {
    const api = await call('/nothing/here', { headers: asJson })
    expect(api.status).toBe(404)
    expect(await api.json()).toMatchObject({ error: 'no_route' })
    const page = await call('/nothing/here', { headers: asBrowser })
    expect(page.status).toBe(404)
    expect(await page.text()).toContain('no application at this address')
  })

  it('no session: a browser goes to sign in, anything else gets 401 JSON', async () => {
    const page = await call('/app/reports?x=1', { headers: asBrowser })
    expect(page.status).toBe(302)
    expect(page.headers.get('location')).toBe('/auth/login?returnTo=%2Fapp%2Freports%3Fx%3D1')
    const api = await call('/app/reports', { headers: asJson })
    expect(api.status).toBe(401)
    expect(await api.json()).toMatchObject({ error: 'not_signed_in' })
  })

  it('allowed: proxied to the route’s own origin, with the route named', async () => {
    const cookie = await signedIn()
    const response = await call('/api/items?page=2', { headers: { cookie } })
    expect(response.status).toBe(200)
    const seen = (await response.json()) as Echo
    expect(seen.path).toBe('/api/items')
    expect(seen.headers.host).toBe(new URL(SECOND_ORIGIN).host)
    expect(seen.headers['x-auth-route']).toBe('api')
    expect(seen.headers['x-auth-assertion']).toBeTruthy()
  })

  it('a service route reaches the bound Worker with the identity and assertion', async () => {
    const email = uniqueEmail()
    const cookie = await signedIn(email)
    const response = await call('/docs/guide', { headers: { cookie } })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      service: 'docs',
      path: '/docs/guide',
      route: 'docs',
      assertion: true,
    })
  })

  it('deny beats allow: a refused person gets a 403 page naming the account and the application, never the rule', async () => {
    const cookie = await signedIn(BLOCKED_EMAIL)
    const api = await call('/api/items', { headers: { cookie, ...asJson } })
    expect(api.status).toBe(403)
    expect(await api.json()).toMatchObject({ error: 'access_denied' })
    const page = await call('/api/items', { headers: { cookie, ...asBrowser } })
    expect(page.status).toBe(403)
    const html = await page.text()
    expect(html).toContain(BLOCKED_EMAIL)
    expect(html).toContain('api')
    expect(html).toContain('Use another account')
    expect(html).not.toMatch(/deny|allow\[|emails/)
  })

  it('"Use another account" signs out and comes back to the same place after signing in', async () => {
    const { cookie } = await signIn(uniqueEmail())
    const out = await call('/auth/logout', {
      method: 'POST',
      headers: {
        cookie,
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://gateway.test',
      },
      body: 'returnTo=%2Fapi%2Fitems',
    })
    expect(out.status).toBe(303)
    expect(out.headers.get('location')).toBe('/auth/login?signed_out=1&returnTo=%2Fapi%2Fitems')
  })

  it('hosts: an exact host route, matched whatever the case, a trailing dot or a port', async () => {
    const admin = await signedIn(ADMIN_EMAIL)
    const other = await signedIn()
    for (const host of [
      'admin.gateway.test',
      'ADMIN.Gateway.Test',
      'admin.gateway.test.',
      'admin.gateway.test:8443',
    ]) {
      expect((await call(`https://${host}/anything`, { headers: { cookie: admin } })).status).toBe(
        200,
      )
      expect(
        (await call(`https://${host}/app/x`, { headers: { cookie: other, ...asJson } })).status,
      ).toBe(403)
    }
    // X-Forwarded-Host never picks a route.
    const forwarded = await call('/anything', {
      headers: { cookie: admin, 'x-forwarded-host': 'admin.gateway.test', ...asJson },
    })
    expect(forwarded.status).toBe(404)
  })

  it('ips: IPv4 and IPv6 ranges', async () => {
    const cookie = await signedIn()
    const at = async (ip: string) =>
      (await call('/office/x', { headers: { cookie, 'cf-connecting-ip': ip, ...asJson } })).status
    expect(await at('203.0.113.77')).toBe(200)
    expect(await at('2001:db8:1:ff::9')).toBe(200)
    expect(await at('::ffff:203.0.113.5')).toBe(200)
    expect(await at('198.51.100.7')).toBe(403)
    expect(await at('2001:db8:2::1')).toBe(403)
  })

  it('countries: request.cf.country, never matched when unknown', async () => {
    const cookie = await signedIn()
    const from = async (country?: string) =>
      (await call('/de/x', { headers: { cookie, ...asJson }, ...(country && { cf: { country } }) }))
        .status
    expect(await from('DE')).toBe(200)
    expect(await from('FR')).toBe(403)
    expect(await from()).toBe(403)
  })

  it('route methods: a method the route does not take falls through to no route', async () => {
    const cookie = await signedIn()
    expect(
      (await call('/docs/guide', { method: 'POST', headers: { cookie, ...asJson } })).status,
    ).toBe(404)
  })

  it('method rules cannot be bypassed with override headers, and the origin never sees them', async () => {
    const cookie = await signedIn()
    const overrides = {
      'x-http-method-override': 'GET',
      'x-http-method': 'GET',
      'x-method-override': 'GET',
      X_HTTP_Method_Override: 'GET',
    }
    const post = await call('/write/x', {
      method: 'POST',
      headers: { cookie, ...overrides, ...asJson },
    })
    expect(post.status).toBe(403)
    const get = await call('/write/x', { headers: { cookie, 'x-http-method-override': 'DELETE' } })
    expect(get.status).toBe(200)
    const seen = (await get.json()) as Echo
    expect(Object.keys(seen.headers).filter((h) => h.includes('method'))).toEqual([])
  })

  it('path overrides (X-Original-URL, X-Rewrite-URL) never reach the origin', async () => {
    const response = await call('/status', {
      headers: { 'x-original-url': '/admin', 'x-rewrite-url': '/admin', X_Original_URL: '/admin' },
    })
    const seen = (await response.json()) as Echo
    expect(Object.keys(seen.headers).filter((h) => /original|rewrite/.test(h))).toEqual([])
  })

  it.each([
    '/app/..%2Fadmin',
    '/app/%252e%252e/admin',
    '/app/a;jsessionid=1',
    '/app/a%5Cb',
    '/app/%u002e',
    '/app/a%00b',
  ])('a path that could be read as another one (%s) is refused with 400 bad_path', async (path) => {
    const cookie = await signedIn()
    const response = await call(path, { headers: { cookie } })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'bad_path' })
  })

  it('the path matched is the path forwarded: dot segments are resolved before both', async () => {
    for (const path of ['/app/x/../../status', '/app/%2e%2e/status', '/app/.%2E/status']) {
      const response = await call(path, { headers: asJson })
      // The URL parser resolves these to /status, the public route, and that is what the origin
      // gets: never matched as /app/* and forwarded as something else.
      expect(response.status).toBe(200)
      expect(((await response.json()) as Echo).path).toBe('/status')
    }
  })

  it('maxSignInAge: an older sign-in is sent to sign in again, and the page says why', async () => {
    const cookie = await signedIn()
    expect((await call('/fresh/x', { headers: { cookie } })).status).toBe(200)
    const key = `session:${await sha256(cookie.slice('__Host-session='.length).split('.')[0]!)}`
    const record = JSON.parse((await env.SESSIONS.get(key, 'text'))!)
    await env.SESSIONS.put(key, JSON.stringify({ ...record, createdAt: Date.now() - 120_000 }), {
      expirationTtl: 3600,
    })
    const page = await call('/fresh/x', { headers: { cookie, ...asBrowser } })
    expect(page.status).toBe(302)
    expect(page.headers.get('location')).toBe('/auth/login?returnTo=%2Ffresh%2Fx&reauth=1')
    const api = await call('/fresh/x', { headers: { cookie, ...asJson } })
    expect(api.status).toBe(401)
    expect(await api.json()).toMatchObject({ error: 'reauthentication_required' })
    const login = await call('/auth/login?returnTo=%2Ffresh%2Fx&reauth=1', { headers: { cookie } })
    expect(login.status).toBe(200)
    expect(await login.text()).toContain('asks for a recent sign-in')
  })

  it('websockets: false refuses an upgrade with 403, and no session is 401, never a redirect', async () => {
    const upgrade = { upgrade: 'websocket', connection: 'Upgrade', accept: 'text/html' }
    const anonymous = await call('/nows/socket', { headers: upgrade })
    expect(anonymous.status).toBe(401)
    const cookie = await signedIn()
    const refused = await call('/nows/socket', { headers: { ...upgrade, cookie } })
    expect(refused.status).toBe(403)
  })

  it('the log line names the route and the decision', async () => {
    const logged = vi.spyOn(console, 'log')
    try {
      await call('/app/x', { headers: asJson })
      const line = logged.mock.calls
        .map((args) => JSON.parse(String(args[0])) as Record<string, unknown>)
        .find((l) => l.accessRoute)
      expect(line).toMatchObject({ accessRoute: 'app', decision: 'sign_in', status: 401 })
    } finally {
      logged.mockRestore()
    }
  })
})

describe('CORS', () => {
  const preflight = (origin: string, method = 'POST', headers = 'content-type') =>
    call('/api/items', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': headers,
      },
    })

  it('answers a listed origin’s preflight itself, without a session', async () => {
    const response = await preflight(APP_ORIGIN)
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST')
    expect(response.headers.get('access-control-allow-headers')).toBe('content-type')
    expect(response.headers.get('access-control-allow-credentials')).toBe('true')
    expect(response.headers.get('access-control-max-age')).toBe('600')
    expect(response.headers.get('vary')).toContain('Origin')
  })

  it('refuses any other origin, method or header with 403 and no Allow-Origin', async () => {
    for (const response of [
      await preflight('https://evil.example'),
      await preflight(APP_ORIGIN, 'DELETE'),
      await preflight(APP_ORIGIN, 'POST', 'x-secret'),
    ]) {
      expect(response.status).toBe(403)
      expect(response.headers.get('access-control-allow-origin')).toBeNull()
    }
  })

  it('puts Allow-Origin on the origin’s answer and on the gateway’s own 401 and 403', async () => {
    const headers = { origin: APP_ORIGIN, ...asJson }
    const anonymous = await call('/api/items', { headers })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    expect(anonymous.headers.get('access-control-allow-credentials')).toBe('true')
    const blocked = await call('/api/items', {
      headers: { ...headers, cookie: await signedIn(BLOCKED_EMAIL) },
    })
    expect(blocked.status).toBe(403)
    expect(blocked.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    const allowed = await call('/api/items', { headers: { ...headers, cookie: await signedIn() } })
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    const foreign = await call('/api/items', {
      headers: { ...headers, origin: 'https://evil.example' },
    })
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('on a route without cors, OPTIONS is decided like any other request', async () => {
    const response = await call('/app/x', {
      method: 'OPTIONS',
      headers: { origin: APP_ORIGIN, 'access-control-request-method': 'GET' },
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('forward-auth with ACCESS', () => {
  const verify = (uri: string, headers: Record<string, string> = {}) =>
    call('/auth/verify', {
      headers: { 'x-forwarded-uri': uri, 'x-forwarded-method': 'GET', ...headers },
    })

  it('decides for the forwarded method, host and URI', async () => {
    const email = uniqueEmail()
    const cookie = await signedIn(email)
    const allowed = await verify('/api/items', { cookie })
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('x-auth-email')).toBe(email)
    expect((await verify('/api/items', { cookie: await signedIn(BLOCKED_EMAIL) })).status).toBe(403)
    expect((await verify('/api/items')).status).toBe(401)
    expect((await verify('/status')).status).toBe(200)
    expect((await verify('/write/x', { cookie, 'x-forwarded-method': 'POST' })).status).toBe(403)
    // nginx: X-Original-URI and X-Original-Method, host from Host.
    const nginx = await call('/auth/verify', {
      headers: { cookie, 'x-original-uri': '/write/x', 'x-original-method': 'POST' },
    })
    expect(nginx.status).toBe(403)
    expect((await verify('/app/%2e%2e/x', { cookie })).status).toBe(400)
  })

  it('refuses to decide when the method is missing or the two header families are mixed', async () => {
    const cookie = await signedIn()
    const missing = await call('/auth/verify', { headers: { cookie, 'x-forwarded-uri': '/api/x' } })
    expect(missing.status).toBe(400)
    // A client adds X-Forwarded-Uri to a request nginx describes with X-Original-URI.
    const smuggled = await call('/auth/verify', {
      headers: {
        'x-original-uri': '/write/x',
        'x-original-method': 'POST',
        'x-forwarded-uri': '/status',
        'x-forwarded-method': 'GET',
      },
    })
    expect(smuggled.status).toBe(400)
    expect(await smuggled.json()).toMatchObject({ error: 'bad_forwarded_request' })
  })

  it('with nginx’s X-Original-* headers, the host is Host: a client-added X-Forwarded-Host picks nothing', async () => {
    const admin = await signedIn(ADMIN_EMAIL)
    const viaNginx = (extra: Record<string, string>) =>
      call('/auth/verify', {
        headers: {
          cookie: admin,
          'x-original-uri': '/anything',
          'x-original-method': 'GET',
          ...extra,
        },
      })
    expect((await viaNginx({})).status).toBe(403)
    expect((await viaNginx({ 'x-forwarded-host': 'admin.gateway.test' })).status).toBe(403)
    // Traefik and Caddy send the whole X-Forwarded-* family, host included.
    const viaTraefik = await verify('/anything', {
      cookie: admin,
      'x-forwarded-host': 'admin.gateway.test',
    })
    expect(viaTraefik.status).toBe(200)
  })

  it('ips: the proxy’s own address never counts; a proxy with the token names the client', async () => {
    const cookie = await signedIn()
    const fromProxy = await verify('/office/x', { cookie, 'cf-connecting-ip': '203.0.113.9' })
    expect(fromProxy.status).toBe(403)
    const proxyToken = { 'x-forward-auth-token': 'test-forward-auth-token-0123456789-abcdef' }
    const named = await verify('/office/x', {
      cookie,
      ...proxyToken,
      'x-forwarded-for': '203.0.113.50',
    })
    expect(named.status).toBe(200)
    const spoofed = await verify('/office/x', { cookie, 'x-forwarded-for': '203.0.113.50' })
    expect(spoofed.status).toBe(403)
  })

  it('answers a forwarded CORS preflight for a listed origin with 200', async () => {
    const response = await verify('/api/items', {
      'x-forwarded-method': 'OPTIONS',
      origin: APP_ORIGIN,
      'access-control-request-method': 'POST',
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    const foreign = await verify('/api/items', {
      'x-forwarded-method': 'OPTIONS',
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
    })
    expect(foreign.status).toBe(401)
  })
})

describe('the ACCESS setting', () => {
  const problemsOf = (overrides: Record<string, unknown>) => {
    try {
      parseConfig({ ...env, ...overrides } as unknown as Record<string, unknown>)
      return []
    } catch (error) {
      if (error instanceof ConfigError)
        return error.problems.map((p) => `${p.variable}: ${p.problem}`)
      throw error
    }
  }

  it('accepts a TOML table (an object) as well as a JSON string', () => {
    expect(problemsOf({ ACCESS: POLICY })).toEqual([])
    expect(problemsOf({ ACCESS })).toEqual([])
  })

  it('names every problem at once, with the route and the field', () => {
    const problems = problemsOf({
      ACCESS: {
        routes: [
          { name: 'Bad Name', path: 'api' },
          { name: 'x', allow: [{ emial: [] }] },
        ],
      },
    })
    expect(problems.length).toBeGreaterThanOrEqual(3)
    expect(problems.every((p) => p.startsWith('ACCESS: '))).toBe(true)
    expect(problems.join('\n')).toMatch(/routes\[0\].*name/)
    expect(problems.join('\n')).toMatch(/routes\[0\].*path/)
    expect(problems.join('\n')).toMatch(/routes\[1\].*emial/)
  })

  it('refuses ACCESS together with PUBLIC_PATHS, naming both', () => {
    const problems = problemsOf({ ACCESS, PUBLIC_PATHS: '/status' })
    expect(problems.some((p) => p.startsWith('ACCESS'))).toBe(true)
    expect(problems.some((p) => p.startsWith('PUBLIC_PATHS'))).toBe(true)
  })

  it('refuses a service that is not bound', () => {
    const problems = problemsOf({
      ACCESS: { routes: [{ name: 'x', service: 'NOT_BOUND' }] },
    })
    expect(problems.join('\n')).toContain('NOT_BOUND')
  })

  it('fails closed: a bad ACCESS answers 500 misconfigured, even on a would-be public path', async () => {
    const response = await call('/status', { headers: asJson }, { ACCESS: '{"routes": [' })
    expect(response.status).toBe(500)
    expect(await response.json()).toMatchObject({ error: 'misconfigured' })
  })
})

describe('service tokens on routes', () => {
  const ADMIN = { authorization: 'Bearer test-admin-token-0123456789-abcdefghijkl' }
  async function createToken(name: string, expiresInSeconds?: number) {
    const response = await call('/auth/admin/service-tokens', {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ name, ...(expiresInSeconds && { expiresInSeconds }) }),
    })
    expect(response.status).toBe(201)
    return (await response.json()) as { id: string; clientId: string; clientSecret: string }
  }
  const presenting = (token: { clientId: string; clientSecret: string }) => ({
    'Gateway-Client-Id': token.clientId,
    'Gateway-Client-Secret': token.clientSecret,
  })

  it('a valid token reaches a route naming it; the origin sees the token, never its secret', async () => {
    const token = await createToken('ci-bot')
    const response = await call('/api/deploys', { headers: presenting(token) })
    expect(response.status).toBe(200)
    const seen = (await response.json()) as Echo
    expect(seen.headers['x-auth-user']).toBe(token.id)
    expect(seen.headers['x-auth-service-token']).toBe('ci-bot')
    expect(seen.headers['x-auth-email']).toBeUndefined()
    expect(JSON.stringify(seen.headers)).not.toContain(token.clientSecret)
    expect(Object.keys(seen.headers).filter((h) => h.startsWith('gateway-client'))).toEqual([])
    const claims = JSON.parse(
      atob(seen.headers['x-auth-assertion']!.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')),
    ) as Record<string, unknown>
    expect(claims).toMatchObject({ sub: token.id, svc: 'ci-bot' })
    expect(claims.email).toBeUndefined()
  })

  it('a bad token gets JSON even when it asks for a page', async () => {
    const response = await call('/app/x', {
      headers: {
        'Gateway-Client-Id': 'cid_AAAAAAAAAAAAAAAAAAAA',
        'Gateway-Client-Secret': 'x',
        ...asBrowser,
      },
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('content-type')).toContain('application/json')
    expect(await response.json()).toMatchObject({ error: 'invalid_client_credentials' })
  })

  it('a token is not a person: refused on a route for people, and on a route naming another token', async () => {
    const token = await createToken('ci-bot')
    expect((await call('/app/x', { headers: { ...presenting(token), ...asJson } })).status).toBe(
      403,
    )
    const other = await createToken('reporting')
    expect((await call('/api/x', { headers: { ...presenting(other), ...asJson } })).status).toBe(
      403,
    )
  })

  it('wrong, half-given, expired and revoked tokens: 401 invalid_client_credentials, never a redirect', async () => {
    const token = await createToken('ci-bot')
    const expect401 = async (headers: Record<string, string>) => {
      const response = await call('/api/x', { headers: { ...headers, ...asBrowser } })
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ error: 'invalid_client_credentials' })
    }
    await expect401({ ...presenting(token), 'Gateway-Client-Secret': 'A'.repeat(43) })
    await expect401({ 'Gateway-Client-Id': token.clientId })
    const shortLived = await createToken('ci-bot', 60)
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 120_000)
      await expect401(presenting(shortLived))
    } finally {
      vi.useRealTimers()
    }
    expect((await call('/api/x', { headers: presenting(token) })).status).toBe(200)
    const revoked = await call(`/auth/admin/service-tokens/${token.id}`, {
      method: 'DELETE',
      headers: ADMIN,
    })
    expect(revoked.status).toBe(200)
    await expect401(presenting(token))
  })
})

describe('case, trailing slashes and method overrides', () => {
  // A policy an attacker probes for a second spelling of a refused request: the refusing route
  // must decide whatever the case, a trailing slash or a `_method` the origin would act on.
  const PROBED = JSON.stringify({
    routes: [
      { name: 'admin', path: '/admin/*', deny: [{ everyone: true }] },
      { name: 'report', path: '/report', deny: [{ everyone: true }] },
      { name: 'labels', path: '/Labels/*', caseSensitive: true, deny: [{ everyone: true }] },
      { name: 'items', path: '/items/*', deny: [{ methods: ['DELETE'] }] },
      { name: 'erase', path: '/records/*', methods: ['DELETE'], allow: [{ everyone: true }] },
      { name: 'secrets', path: '/secrets/*', deny: [{ methods: ['GET'] }] },
      { name: 'uploads', path: '/uploads/*' },
      { name: 'app', path: '/*' },
    ],
  })
  const probe = async (path: string, init: RequestInit = {}) => {
    const cookie = await signedIn()
    const headers = new Headers(init.headers)
    headers.set('cookie', cookie)
    if (!headers.has('accept')) headers.set('accept', 'application/json')
    return call(path, { ...init, headers }, { ACCESS: PROBED })
  }
  const postForm = (path: string, body: string) =>
    probe(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })

  it('/ADMIN/panel and /Admin/Panel are /admin/panel: the refusing route decides', async () => {
    for (const path of ['/admin/panel', '/ADMIN/panel', '/Admin/Panel', '/aDmIn'])
      expect([path, (await probe(path)).status]).toEqual([path, 403])
    expect((await probe('/administrator')).status).toBe(200)
  })

  it('an exact route also governs its path with a trailing slash', async () => {
    for (const path of ['/report', '/report/', '/REPORT/'])
      expect([path, (await probe(path)).status]).toEqual([path, 403])
    expect((await probe('/report/x')).status).toBe(200)
  })

  it('a segment Windows reads as another (a trailing dot or space, an 8.3 name, a stream) or a letter that folds to ASCII is a bad path', async () => {
    for (const path of [
      '/admin./x',
      '/admin%20/x',
      '/report.',
      '/report%20',
      '/ADMINI~1/x',
      '/admin::$INDEX_ALLOCATION/x',
      '/report::$DATA',
      '/adm%C4%B1n/x',
    ]) {
      const answer = await probe(path)
      expect([path, answer.status]).toEqual([path, 400])
      expect(await answer.json()).toMatchObject({ error: 'bad_path' })
    }
    expect((await probe('/reports.json')).status).toBe(200)
  })

  it('caseSensitive: true opts a route out: only the spelling it names is refused', async () => {
    expect((await probe('/Labels/x')).status).toBe(403)
    expect((await probe('/labels/x')).status).toBe(200)
    expect((await probe('/LABELS/x')).status).toBe(200)
  })

  it('HEAD is decided like GET: a deny on GET is not dodged with HEAD', async () => {
    expect((await probe('/secrets/x', { method: 'HEAD' })).status).toBe(403)
    expect((await probe('/secrets/x')).status).toBe(403)
    expect((await probe('/secrets/x', { method: 'POST' })).status).toBe(200)
  })

  it.each([
    '_method=DELETE',
    '_method=delete',
    '_METHOD=DELETE',
    '%5Fmethod=DELETE',
    '%5fMethod=Delete',
    '_%6Dethod=DELETE',
    '.method=DELETE',
    '_method[]=DELETE',
    'a=1;_method=DELETE',
  ])('POST /items/1?%s is decided as a DELETE too, and refused', async (query) => {
    const response = await probe(`/items/1?${query}`, { method: 'POST' })
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ error: 'access_denied' })
  })

  it('a _method in a form body is decided too: urlencoded, multipart, JSON, no content type', async () => {
    expect((await postForm('/items/1', 'name=x&_method=DELETE')).status).toBe(403)
    const multipart = new FormData()
    multipart.set('name', 'x')
    multipart.set('_method', 'delete')
    expect((await probe('/items/1', { method: 'POST', body: multipart })).status).toBe(403)
    const json = await probe('/items/1', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _method: 'DELETE' }),
    })
    expect(json.status).toBe(403)
    // Rack reads a POST without a content type as a form (a stream body gets none).
    const bare = new Blob(['_method=DELETE']).stream()
    const untyped = await probe('/items/1', { method: 'POST', body: bare })
    expect(untyped.status).toBe(403)
  })

  it('an allowed override is forwarded with its body intact', async () => {
    const response = await postForm('/items/1', 'name=x&_method=PATCH')
    expect(response.status).toBe(200)
    const seen = (await response.json()) as Echo & { method: string; body: string }
    expect(seen.method).toBe('POST')
    expect(seen.body).toBe('name=x&_method=PATCH')
    expect(seen.headers['content-length']).toBe('20')
    const multipart = new FormData()
    multipart.set('_method', 'patch')
    multipart.set('note', 'y'.repeat(10_000))
    const big = await probe('/items/2', { method: 'POST', body: multipart })
    expect(big.status).toBe(200)
    expect(((await big.json()) as { bodyLength: number }).bodyLength).toBeGreaterThan(10_000)
  })

  it('a multipart body whose part headers could be read as another _method is refused', async () => {
    const multipart = (disposition: string) =>
      probe('/items/1', {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=b0undary' },
        body:
          `--b0undary\r\nContent-Disposition: ${disposition}\r\n\r\nDELETE\r\n` +
          '--b0undary--\r\n',
      })
    // Two name parameters (parsers differ on which counts): refused whichever the origin reads,
    // as a DELETE (403) or as ambiguous (400). A `_method` sent as a file is no method (400).
    for (const disposition of [
      'form-data; name="note"; name="_method"',
      'form-data; name="_method"; name="note"',
      'form-data; name="_method"; filename="m.txt"',
      "form-data; name*=utf-8''%5Fmethod",
    ]) {
      const response = await multipart(disposition)
      expect([disposition, [400, 403].includes(response.status)]).toEqual([disposition, true])
    }
    expect((await multipart('form-data; name="note"')).status).toBe(200)
  })

  it('a compressed form is refused where its _method could matter (body-parser inflates it)', async () => {
    const gzipped = await new Response(
      new Blob(['_method=DELETE']).stream().pipeThrough(new CompressionStream('gzip')),
    ).arrayBuffer()
    const response = await probe('/items/1', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-encoding': 'gzip',
      },
      body: gzipped,
    })
    expect(response.status).toBe(415)
    expect(await response.json()).toMatchObject({ error: 'encoded_form_refused' })
  })

  it('where no rule depends on the method, _method is not looked at and the body not read', async () => {
    const response = await postForm('/uploads/x?_method=not%20a%20method', '_method=DELETE')
    expect(response.status).toBe(200)
    expect(((await response.json()) as { body: string }).body).toBe('_method=DELETE')
  })

  it('an override that another route would decide is refused with 400, not routed', async () => {
    const response = await probe('/records/1?_method=DELETE', { method: 'POST' })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'method_override_refused' })
    expect((await postForm('/records/1', '_method=DELETE')).status).toBe(400)
  })

  it('an override that is not one method is refused with 400', async () => {
    for (const body of ['_method=DEL%20ETE', '_method=', '_method=PUT&_method=DELETE']) {
      const response = await postForm('/items/1', body)
      expect([body, response.status]).toEqual([body, 400])
      expect(await response.json()).toMatchObject({ error: 'bad_method_override' })
    }
  })

  it('a form too large to read is refused only where an override could matter', async () => {
    const huge = `_method=PATCH&pad=${'x'.repeat(1024 * 1024)}`
    const refused = await postForm('/items/1', huge)
    expect(refused.status).toBe(413)
    expect(await refused.json()).toMatchObject({ error: 'form_too_large' })
    // An upload where no rule depends on the method is streamed to the origin untouched.
    const upload = await postForm('/uploads/big', huge)
    expect(upload.status).toBe(200)
    expect(((await upload.json()) as { bodyLength: number }).bodyLength).toBe(huge.length)
  })
})
