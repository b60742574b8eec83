import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { Hono } from 'hono'
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { configFor } from '../src/config'
import type { AppEnv } from '../src/app-env'
import worker from '../src/index'
import { startSession } from '../src/session/start'
import {
  ADMIN_TOKEN,
  GATEWAY,
  gateway,
  gatewayWith,
  json,
  productionSettings,
  sessionFor,
  signIn,
  uniqueEmail,
} from './helpers'

const FORWARD_AUTH_TOKEN = 'test-forward-auth-token-0123456789-abcdef'

// What nginx `auth_request`, Caddy `forward_auth` and Traefik `ForwardAuth` send: the browser's
// Cookie header plus the original URI in X-Original-URI / X-Forwarded-Uri.

describe('GET /auth/verify (forward-auth)', () => {
  it('answers 200 with the identity headers, and the assertion only to the proxy', async () => {
    const { cookie, email } = await signIn()
    // A page on the same hostname fetching /auth/verify gets no assertion it could replay.
    const fromPage = await gateway('/auth/verify', { headers: { cookie } })
    expect(fromPage.status).toBe(200)
    expect(fromPage.headers.get('x-auth-assertion')).toBeNull()
    const wrongToken = await gateway('/auth/verify', {
      headers: { cookie, 'x-forward-auth-token': 'not-the-token' },
    })
    expect(wrongToken.headers.get('x-auth-assertion')).toBeNull()
    const response = await gateway('/auth/verify', {
      headers: {
        cookie,
        'x-original-uri': '/app/page?x=1',
        'x-original-method': 'GET',
        'x-forward-auth-token': FORWARD_AUTH_TOKEN,
      },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-auth-email')).toBe(email)
    expect(response.headers.get('x-auth-user')).toMatch(/^prof_/)
    expect(response.headers.get('x-auth-assertion')?.split('.')).toHaveLength(3)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.text()).toBe('')
  })

  it.each([
    ['no cookie', {}],
    [
      'a tampered cookie',
      { cookie: '__Host-session=' + ['A', 'C', 'B'].map((ch) => ch.repeat(43)).join('.') },
    ],
  ])('answers 401 for %s, whatever the forwarded URI says', async (_, headers) => {
    const response = await gateway('/auth/verify', {
      headers: { ...headers, 'x-original-uri': '/public', 'x-forwarded-uri': '/healthz' },
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('x-auth-user')).toBeNull()
  })

  it('refuses the fetch of a service worker script whose folder could be a scope over /auth/', async () => {
    // A page behind the proxy registers /sw.js; the browser's fetch of it (Service-Worker:
    // script) reaches /auth/verify through the proxy with the person's cookie.
    const { cookie } = await signIn()
    const asked = (uri: string) =>
      gateway('/auth/verify', {
        headers: {
          cookie,
          'service-worker': 'script',
          'x-original-uri': uri,
          'x-original-method': 'GET',
        },
      })
    for (const uri of ['/sw.js', '/sw.js?v=2', '/a']) {
      const refused = await asked(uri)
      expect(refused.status, uri).toBe(403)
      expect(await refused.json()).toMatchObject({ error: 'service_worker_refused' })
    }
    expect((await asked('/static/sw.js')).status).toBe(200)
  })

  it('answers 401 once the session is signed out', async () => {
    const { cookie } = await signIn()
    await gateway('/auth/logout', json({}, { cookie }))
    expect((await gateway('/auth/verify', { headers: { cookie } })).status).toBe(401)
  })

  it('with ?redirect=1, sends a browser navigation to the sign-in page with a safe returnTo', async () => {
    const navigation = { accept: 'text/html', 'x-forwarded-method': 'GET' }
    const deep = await gateway('/auth/verify?redirect=1', {
      headers: { ...navigation, 'x-forwarded-uri': '/app/reports?q=1' },
    })
    expect(deep.status).toBe(302)
    expect(deep.headers.get('location')).toBe('/auth/login?returnTo=%2Fapp%2Freports%3Fq%3D1')
    const evil = await gateway('/auth/verify?redirect=1', {
      headers: { ...navigation, 'x-forwarded-uri': '//evil.example/x' },
    })
    expect(evil.headers.get('location')).toBe('/auth/login')
    // An API call still gets 401, so it is never redirected.
    const api = await gateway('/auth/verify?redirect=1', {
      headers: { accept: 'application/json', 'x-forwarded-uri': '/api' },
    })
    expect(api.status).toBe(401)
  })
})

// The client address behind a proxy: at /auth/verify (and at /auth/* reached through the proxy)
// the connection is the proxy's. Only a proxy that proves itself with FORWARD_AUTH_TOKEN names the
// client, and only in the X-Forwarded-For entry it writes itself: the last one. Caddy (and Traefik,
// where it trusts forwarded headers) passes a client's own X-Real-IP along, and a proxy that appends
// keeps the X-Forwarded-For entries the client sent.
const OFFICE = '203.0.113.50'
const ELSEWHERE = '198.51.100.7'
const BLOCKED = '192.0.2.66'
const IP_POLICY = JSON.stringify({
  routes: [
    { name: 'office', path: '/office/*', allow: [{ ips: ['203.0.113.0/24'] }] },
    { name: 'open', path: '/open/*', deny: [{ ips: ['192.0.2.64/26'] }] },
  ],
})
const proxy = {
  'x-forward-auth-token': FORWARD_AUTH_TOKEN,
  'x-forwarded-method': 'GET',
  'cf-connecting-ip': '100.64.0.1',
}
const verifyWith = (policy: string, uri: string, headers: Record<string, string>) =>
  gatewayWith({ ACCESS: policy }, '/auth/verify', {
    headers: { 'x-forwarded-uri': uri, ...headers },
  })

describe('forward-auth: the client address for ACCESS `ips`', () => {
  it('an ips allow is not met by a client’s X-Real-IP or by entries before the proxy’s own', async () => {
    const { cookie } = await signIn()
    const asked = (headers: Record<string, string>) =>
      verifyWith(IP_POLICY, '/office/x', { cookie, ...proxy, ...headers })
    // The proxy saw ELSEWHERE; the client claims an office address.
    expect((await asked({ 'x-real-ip': OFFICE, 'x-forwarded-for': ELSEWHERE })).status).toBe(403)
    expect((await asked({ 'x-forwarded-for': `${OFFICE}, ${ELSEWHERE}` })).status).toBe(403)
    // The proxy saw an office address: allowed, whatever the client added before it.
    expect((await asked({ 'x-real-ip': ELSEWHERE, 'x-forwarded-for': OFFICE })).status).toBe(200)
    expect((await asked({ 'x-forwarded-for': `${ELSEWHERE}, ${OFFICE}` })).status).toBe(200)
    // Cloudflare's edge (CF-Ray) appended the proxy's own address (CF-Connecting-IP) after the
    // proxy's entry.
    // Deployed (not dev mode), so CF-Ray is the edge's own.
    const production = await productionSettings()
    const deployed = (headers: Record<string, string>) =>
      gatewayWith({ ACCESS: IP_POLICY, ...production }, '/auth/verify', {
        headers: { 'x-forwarded-uri': '/office/x', cookie, ...proxy, ...headers },
      })
    const edge = { 'cf-ray': '8a1b2c3d4e5f6789-FRA' }
    expect((await deployed({ ...edge, 'x-forwarded-for': `${OFFICE}, 100.64.0.1` })).status).toBe(
      200,
    )
    expect(
      (await deployed({ ...edge, 'x-forwarded-for': `${OFFICE}, ${ELSEWHERE}, 100.64.0.1` }))
        .status,
    ).toBe(403)
    // Without the edge, a last entry equal to the connection's address is the proxy's record of
    // a client connecting from the proxy's own address: the entry before it is the client's claim.
    expect((await deployed({ 'x-forwarded-for': `${OFFICE}, 100.64.0.1` })).status).toBe(403)
    // In dev mode nothing is Cloudflare's: a client's own CF-Ray passes nothing over.
    expect((await asked({ ...edge, 'x-forwarded-for': `${OFFICE}, 100.64.0.1` })).status).toBe(403)
  })

  it('an ips deny is not dodged with a client’s X-Real-IP', async () => {
    const { cookie } = await signIn()
    const asked = (headers: Record<string, string>) =>
      verifyWith(IP_POLICY, '/open/x', { cookie, ...proxy, ...headers })
    expect((await asked({ 'x-forwarded-for': ELSEWHERE })).status).toBe(200)
    expect((await asked({ 'x-real-ip': ELSEWHERE, 'x-forwarded-for': BLOCKED })).status).toBe(403)
    expect((await asked({ 'x-forwarded-for': `${ELSEWHERE}, ${BLOCKED}` })).status).toBe(403)
  })

  it('without the token (or with a wrong one), nothing the asker says about the client counts', async () => {
    const { cookie } = await signIn()
    const tokens: Record<string, string>[] = [{}, { 'x-forward-auth-token': 'not-the-token' }]
    for (const token of tokens) {
      const response = await verifyWith(IP_POLICY, '/office/x', {
        cookie,
        'x-forwarded-method': 'GET',
        'cf-connecting-ip': OFFICE,
        'x-real-ip': OFFICE,
        'x-forwarded-for': OFFICE,
        ...token,
      })
      expect(response.status).toBe(403)
    }
  })
})

// nginx's `auth_request` describes the request with X-Original-URI and X-Original-Method, and the
// host is Host; Traefik and Caddy send X-Forwarded-Method/-Uri/-Host. A proxy passes along the
// headers it does not set, so a client can add the other family.
describe('forward-auth: method overrides', () => {
  it('a _method in the forwarded query is decided too', async () => {
    const { cookie } = await signIn()
    const policy = JSON.stringify({
      routes: [{ name: 'items', path: '/items/*', deny: [{ methods: ['DELETE'] }] }],
    })
    const asked = (uri: string, method = 'POST') =>
      gatewayWith({ ACCESS: policy }, '/auth/verify', {
        headers: {
          cookie,
          'x-forwarded-method': method,
          'x-forwarded-uri': uri,
          'x-forwarded-host': 'gateway.test',
        },
      })
    expect((await asked('/items/1')).status).toBe(200)
    for (const query of [
      '_method=DELETE',
      '_METHOD=delete',
      '%5Fmethod=DELETE',
      'a=1;_method=DELETE',
    ])
      expect((await asked(`/items/1?${query}`)).status, query).toBe(403)
    const twoMethods = await asked('/items/1?_method=PUT&_method=DELETE')
    expect(twoMethods.status).toBe(400)
    expect(await twoMethods.json()).toMatchObject({ error: 'bad_method_override' })
    expect((await asked('/items/1?_method=PUT')).status).toBe(200)
  })
})

describe('forward-auth: one family of forwarded headers', () => {
  const HOST_POLICY = JSON.stringify({
    routes: [
      {
        name: 'locked',
        host: 'gateway.test',
        path: '/*',
        allow: [{ emails: ['nobody@example.com'] }],
      },
      { name: 'elsewhere', host: 'other.gateway.test', path: '/*' },
    ],
  })
  const nginx = { 'x-original-uri': '/reports', 'x-original-method': 'GET' }

  it('a client cannot move nginx’s decision to another host with X-Forwarded-*', async () => {
    const { cookie } = await signIn()
    const ask = (headers: Record<string, string>) =>
      gatewayWith({ ACCESS: HOST_POLICY }, '/auth/verify', { headers: { cookie, ...headers } })
    expect((await ask(nginx)).status).toBe(403)
    // The same URI and method as nginx's, in the other family, with another host.
    const smuggled = await ask({
      ...nginx,
      'x-forwarded-uri': '/reports',
      'x-forwarded-method': 'GET',
      'x-forwarded-host': 'other.gateway.test',
    })
    expect(smuggled.status).toBe(400)
    expect(await smuggled.json()).toMatchObject({ error: 'bad_forwarded_request' })
    const added: Record<string, string>[] = [
      { 'x-forwarded-uri': '/reports' },
      { 'x-forwarded-method': 'GET' },
    ]
    for (const header of added) {
      expect((await ask({ ...nginx, ...header })).status).toBe(400)
    }
    // Beside X-Original-*, X-Forwarded-Host alone (nginx may set it for every upstream) is
    // ignored: the host is still Host.
    expect((await ask({ ...nginx, 'x-forwarded-host': 'other.gateway.test' })).status).toBe(403)
    // Traefik and Caddy: the whole X-Forwarded-* family, host included.
    const traefik = {
      'x-forwarded-uri': '/reports',
      'x-forwarded-method': 'GET',
      'x-forwarded-host': 'other.gateway.test',
    }
    expect((await ask(traefik)).status).toBe(200)
    expect((await ask({ ...traefik, 'x-original-uri': '/reports' })).status).toBe(400)
  })
})

/**
 * The limiters count in wall-clock windows (10 s here): a burst that must trip one starts well
 * inside a window.
 */
async function startOfWindow(periodSeconds: number) {
  const intoWindow = Date.now() % (periodSeconds * 1000)
  if (intoWindow > periodSeconds * 1000 - 3000)
    await new Promise((resolve) => setTimeout(resolve, periodSeconds * 1000 - intoWindow + 100))
}

const octet = () => Math.floor(Math.random() * 250) + 1

// The README proxies the gateway's /auth/* through the same proxy: every client arrives from the
// proxy's address, so per-client limits count under the address the proxy proves.
describe('per-client limits behind the forward-auth proxy', () => {
  const sendFrom = (headers: Record<string, string>) =>
    gateway('/auth/magic-link', json({ email: uniqueEmail() }, headers))

  it('two clients of one proven proxy do not share a limit', async () => {
    const viaProxy = {
      'cf-connecting-ip': `100.64.${octet()}.${octet()}`,
      'x-forward-auth-token': FORWARD_AUTH_TOKEN,
    }
    const first = `100.66.${octet()}.${octet()}`
    await startOfWindow(10)
    const answers: number[] = []
    for (let i = 0; i < 11; i++)
      answers.push((await sendFrom({ ...viaProxy, 'x-forwarded-for': first })).status)
    expect(answers).toEqual([...Array(10).fill(200), 429])
    const second = await sendFrom({
      ...viaProxy,
      'x-forwarded-for': `100.67.${octet()}.${octet()}`,
    })
    expect(second.status).toBe(200)
  }, 30_000)

  it('failed service tokens at /auth/verify count per client the proxy proves', async () => {
    const viaProxy = {
      'cf-connecting-ip': `100.64.${octet()}.${octet()}`,
      'x-forward-auth-token': FORWARD_AUTH_TOKEN,
      'x-forwarded-uri': '/office/x',
      'x-forwarded-method': 'GET',
      'gateway-client-id': 'cid_AAAAAAAAAAAAAAAAAAAA',
      'gateway-client-secret': 'not-a-secret',
    }
    const presentFrom = (client: string) =>
      gatewayWith({ ACCESS: IP_POLICY }, '/auth/verify', {
        headers: { ...viaProxy, 'x-forwarded-for': client },
      })
    const first = `100.69.${octet()}.${octet()}`
    await startOfWindow(10)
    const answers: number[] = []
    for (let i = 0; i < 11; i++) answers.push((await presentFrom(first)).status)
    expect(answers).toEqual([...Array(10).fill(401), 429])
    expect((await presentFrom(`100.70.${octet()}.${octet()}`)).status).toBe(401)
  }, 30_000)

  it('without the token, X-Forwarded-For picks no key: the connection’s address counts', async () => {
    const ip = `100.65.${octet()}.${octet()}`
    await startOfWindow(10)
    const answers: number[] = []
    for (let i = 0; i < 11; i++) {
      const headers = {
        'cf-connecting-ip': ip,
        'x-forwarded-for': `100.68.${octet()}.${i + 1}`,
        ...(i % 2 === 1 && { 'x-forward-auth-token': 'not-the-token' }),
      }
      answers.push((await sendFrom(headers)).status)
    }
    expect(answers).toEqual([...Array(10).fill(200), 429])
  }, 30_000)
})

// One gate, two modes: forward-auth hands the proxy in front of another origin exactly the
// identity the gateway sends an origin it proxies to, from the same decision, and answers a
// request no route takes with the same error.
describe('forward-auth and the proxy: the same identity, the same answers', () => {
  const IDENTITY_HEADERS = [
    'x-auth-user',
    'x-auth-email',
    'x-auth-organization',
    'x-auth-route',
    'x-auth-service-token',
  ]
  const POLICY = JSON.stringify({
    routes: [
      { name: 'api', path: '/api/*', allow: [{ serviceTokens: ['fa-bot'] }] },
      { name: 'app', host: 'gateway.test', path: '/*' },
    ],
  })
  type Echo = { headers: Record<string, string> }

  /** Through the proxy: what the echo origin saw. */
  const atOrigin = async (overrides: Record<string, unknown>, path: string, headers: object) =>
    ((await (await gatewayWith(overrides, path, { headers: { ...headers } })).json()) as Echo)
      .headers
  /** At /auth/verify, asked by the proxy (FORWARD_AUTH_TOKEN) about the same request. */
  const atVerify = async (overrides: Record<string, unknown>, path: string, headers: object) => {
    const response = await gatewayWith(overrides, '/auth/verify', {
      headers: {
        ...headers,
        'x-forward-auth-token': FORWARD_AUTH_TOKEN,
        'x-forwarded-method': 'GET',
        'x-forwarded-host': 'gateway.test',
        'x-forwarded-uri': path,
      },
    })
    expect(response.status).toBe(200)
    return Object.fromEntries(response.headers)
  }
  const claims = (assertion: string | undefined) => {
    const { iat, nbf, exp, ...rest } = decodeJwt(assertion!)
    expect([iat, nbf, exp].every((n) => typeof n === 'number')).toBe(true)
    return rest
  }
  const expectSameIdentity = (
    proxied: Record<string, string>,
    verified: Record<string, string>,
  ) => {
    for (const name of IDENTITY_HEADERS) expect(verified[name], name).toBe(proxied[name])
    expect(claims(verified['x-auth-assertion'])).toEqual(claims(proxied['x-auth-assertion']))
  }

  it('without ACCESS: a person with an organization gets X-Auth-Organization both ways', async () => {
    const cookie = await ssoSessionCookie('org_01FORWARDAUTHORGANIZATION00')
    const proxied = await atOrigin({}, '/reports', { cookie })
    expect(proxied['x-auth-organization']).toBe('org_01FORWARDAUTHORGANIZATION00')
    expect(proxied['x-auth-route']).toBeUndefined()
    expectSameIdentity(proxied, await atVerify({}, '/reports', { cookie }))
  })

  it('with ACCESS: X-Auth-Route and the route’s assertion, for a person and for a service token', async () => {
    const cookie = await ssoSessionCookie('org_01FORWARDAUTHORGANIZATION01')
    const proxied = await atOrigin({ ACCESS: POLICY }, '/reports', { cookie })
    expect(proxied['x-auth-route']).toBe('app')
    expect(proxied['x-auth-organization']).toBe('org_01FORWARDAUTHORGANIZATION01')
    expectSameIdentity(proxied, await atVerify({ ACCESS: POLICY }, '/reports', { cookie }))

    const token = await serviceToken('fa-bot')
    const machine = {
      accept: 'application/json',
      'gateway-client-id': token.clientId,
      'gateway-client-secret': token.clientSecret,
    }
    const fromToken = await atOrigin({ ACCESS: POLICY }, '/api/items', machine)
    expect(fromToken['x-auth-service-token']).toBe('fa-bot')
    expect(fromToken['x-auth-route']).toBe('api')
    expectSameIdentity(fromToken, await atVerify({ ACCESS: POLICY }, '/api/items', machine))
  })

  it('a request no route takes: 404 through the proxy, 403 at forward-auth, the same error', async () => {
    const cookie = await sessionFor()
    const elsewhere = { cookie, accept: 'application/json' }
    const ctx = createExecutionContext()
    const proxied = await worker.fetch(
      new Request('https://other.gateway.test/x', {
        headers: { ...elsewhere, 'cf-connecting-ip': '198.51.100.9' },
      }),
      { ...env, ACCESS: POLICY } as Env,
      ctx,
    )
    await waitOnExecutionContext(ctx)
    expect(proxied.status).toBe(404)
    const verified = await gatewayWith({ ACCESS: POLICY }, '/auth/verify', {
      headers: {
        ...elsewhere,
        'x-forwarded-method': 'GET',
        'x-forwarded-host': 'other.gateway.test',
        'x-forwarded-uri': '/x',
      },
    })
    // nginx's auth_request takes any other answer than 2xx, 401 and 403 for its own error.
    expect(verified.status).toBe(403)
    const body = await verified.json()
    expect(body).toEqual({ error: 'no_route', message: 'There is nothing at this address.' })
    expect(await proxied.json()).toEqual(body)
  })

  it('with ?redirect=1, a navigation gets the page it gets through the gateway', async () => {
    const policy = JSON.stringify({
      routes: [
        { name: 'locked', path: '/locked/*', deny: [{ everyone: true }] },
        { name: 'second', path: '/second/*', allow: [{ everyone: true, mfa: true }] },
      ],
    })
    const cookie = await sessionFor()
    const page = { cookie, accept: 'text/html' }
    const verify = (uri: string) =>
      gatewayWith({ ACCESS: policy }, '/auth/verify?redirect=1', {
        headers: { ...page, 'x-forwarded-method': 'GET', 'x-forwarded-uri': uri },
      })
    for (const uri of ['/locked/x', '/second/x']) {
      const proxied = await gatewayWith({ ACCESS: policy }, uri, { headers: page })
      const verified = await verify(uri)
      expect(verified.status, uri).toBe(proxied.status)
      expect(verified.headers.get('location'), uri).toBe(proxied.headers.get('location'))
      expect(verified.headers.get('content-type'), uri).toBe(proxied.headers.get('content-type'))
    }
    expect((await verify('/locked/x')).status).toBe(403)
    expect((await verify('/second/x')).headers.get('location')).toBe(
      '/auth/mfa?returnTo=%2Fsecond%2Fx',
    )
  })

  it('without ACCESS, a public path named in the forwarded URI still needs a session', async () => {
    const open = { PUBLIC_PATHS: '/open/*' }
    expect((await gatewayWith(open, '/open/x')).status).toBe(200)
    const verified = await gatewayWith(open, '/auth/verify', {
      headers: {
        accept: 'application/json',
        'x-forwarded-method': 'GET',
        'x-forwarded-uri': '/open/x',
      },
    })
    expect(verified.status).toBe(401)
  })
})

/** A session of an SSO sign-in with `organizationId`, started as the callback starts one. */
async function ssoSessionCookie(organizationId: string): Promise<string> {
  const app = new Hono<AppEnv>()
  app.post('/session', async (c) => {
    c.set('config', configFor(c.env))
    await startSession(c, {
      userId: `prof_${Math.random().toString(36).slice(2, 12)}`,
      email: uniqueEmail('sso'),
      firstName: 'Grace',
      lastName: 'Hopper',
      method: 'sso',
      sso: { organizationId, connectionId: 'conn_01FORWARDAUTH', roles: ['admin'], groups: [] },
    })
    return c.body(null, 204)
  })
  const response = await app.fetch(
    new Request(`${GATEWAY}/session`, {
      method: 'POST',
      headers: { 'cf-connecting-ip': '198.51.100.7' },
    }),
    env,
  )
  return response.headers
    .getSetCookie()
    .map((header) => header.split(';', 1)[0]!)
    .find((pair) => pair.startsWith('__Host-session=') && pair.length > '__Host-session='.length)!
}

async function serviceToken(name: string): Promise<{ clientId: string; clientSecret: string }> {
  const created = await gateway(
    '/auth/admin/service-tokens',
    json({ name }, { authorization: `Bearer ${ADMIN_TOKEN}` }),
  )
  expect(created.status).toBe(201)
  return (await created.json()) as { clientId: string; clientSecret: string }
}
