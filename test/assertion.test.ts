import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
} from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { compileAccess, lintAccess, type CompiledAccess } from '../src/access/index.ts'
import { ConfigError, parseConfig } from '../src/config'
import worker from '../src/index'
import { gateway, gatewayWith, newAssertionKey, sessionFor, signIn, uniqueEmail } from './helpers'

// The assertion is verified here with jose, an independent JOSE implementation, against the JWKS
// the gateway serves, exactly as an origin would.

const ORIGIN = new URL((env as unknown as Record<string, string>).ORIGIN_URL!).origin
const ISSUER = 'https://gateway.test'

let cookie: string
let email: string

beforeAll(async () => {
  ;({ cookie, email } = await signIn())
})

async function jwks(settings?: Record<string, unknown>): Promise<JSONWebKeySet> {
  const response = settings
    ? await gatewayWith(settings, '/.well-known/jwks.json')
    : await gateway('/.well-known/jwks.json')
  expect(response.status).toBe(200)
  return (await response.json()) as JSONWebKeySet
}

async function assertionFor(settings?: Record<string, unknown>): Promise<string> {
  const response = settings
    ? await gatewayWith(settings, '/whoami', { headers: { cookie } })
    : await gateway('/whoami', { headers: { cookie } })
  expect(response.headers.get('x-auth-assertion')).toBeNull() // never back to the browser
  const seen = (await response.json()) as { headers: Record<string, string> }
  return seen.headers['x-auth-assertion']!
}

describe('X-Auth-Assertion', () => {
  it('verifies against the served JWKS with the documented claims', async () => {
    const token = await assertionFor()
    const keys = await jwks()
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys), {
      issuer: ISSUER,
      audience: ORIGIN,
      algorithms: ['ES256'],
    })
    expect(protectedHeader.alg).toBe('ES256')
    expect(keys.keys.map((k) => k.kid)).toContain(protectedHeader.kid)
    expect(payload.email).toBe(email)
    expect(payload.sub).toMatch(/^prof_/)
    expect(typeof payload.sid).toBe('string')
    expect(payload.exp! - payload.iat!).toBe(60)
    // Reused while it has half its life left, so at most 30 s old.
    expect(Date.now() / 1000 - payload.iat!).toBeLessThanOrEqual(31)
  })

  it('is reused for a session while it has half its life left (one signature per 30 s)', async () => {
    const first = await assertionFor()
    const second = await assertionFor()
    expect(second).toBe(first)
    const otherAudience = await assertionFor({ ASSERTION_AUDIENCE: 'urn:another' })
    expect(otherAudience).not.toBe(first)
  })

  it('publishes public keys only', async () => {
    for (const key of (await jwks()).keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
      expect(key).not.toHaveProperty('d')
    }
  })

  it('is refused when tampered with', async () => {
    const token = await assertionFor()
    const [header, payload, signature] = token.split('.')
    const claims = JSON.parse(atob(payload!.replace(/-/g, '+').replace(/_/g, '/')))
    const forgedPayload = btoa(JSON.stringify({ ...claims, email: 'admin@example.com' }))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
    const flipped =
      signature!.slice(0, 10) + (signature![10] === 'A' ? 'B' : 'A') + signature!.slice(11)
    const set = createLocalJWKSet(await jwks())
    for (const bad of [
      `${header}.${forgedPayload}.${signature}`,
      `${header}.${payload}.${flipped}`,
    ]) {
      await expect(jwtVerify(bad, set, { issuer: ISSUER, audience: ORIGIN })).rejects.toThrow()
    }
  })

  it('is refused once expired, and by another audience', async () => {
    const token = await assertionFor()
    const set = createLocalJWKSet(await jwks())
    await expect(
      jwtVerify(token, set, {
        issuer: ISSUER,
        audience: ORIGIN,
        currentDate: new Date(Date.now() + 120_000),
      }),
    ).rejects.toThrow(/exp/)
    await expect(
      jwtVerify(token, set, { issuer: ISSUER, audience: 'https://other.example' }),
    ).rejects.toThrow(/aud/)
  })

  it('cannot be forged with alg "none" or by key confusion (HS256 keyed with the public key)', async () => {
    const token = await assertionFor()
    const [, payload] = token.split('.')
    const keys = await jwks()
    const set = createLocalJWKSet(keys)
    const none = `${btoa(JSON.stringify({ alg: 'none', typ: 'JWT' })).replace(/=+$/, '')}.${payload}.`
    await expect(jwtVerify(none, set, { issuer: ISSUER, audience: ORIGIN })).rejects.toThrow()
    const kid = decodeProtectedHeader(token).kid
    const confused = await new SignJWT({ email: 'admin@example.com' })
      .setProtectedHeader({ alg: 'HS256', kid })
      .setIssuer(ISSUER)
      .setAudience(ORIGIN)
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(JSON.stringify(keys.keys[0])))
    await expect(jwtVerify(confused, set, { issuer: ISSUER, audience: ORIGIN })).rejects.toThrow()
  })

  it('uses ASSERTION_AUDIENCE when set', async () => {
    const token = await assertionFor({ ASSERTION_AUDIENCE: 'urn:my-api' })
    const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks()), {
      audience: 'urn:my-api',
    })
    expect(payload.aud).toBe('urn:my-api')
  })

  it('rotates: every configured key is published, the first signs, older tokens still verify', async () => {
    const [oldKey, newKey] = [await newAssertionKey('old'), await newAssertionKey('new')]
    const before = { ASSERTION_KEYS: JSON.stringify([oldKey, newKey]) }
    const during = { ASSERTION_KEYS: JSON.stringify([newKey, oldKey]) }
    expect((await jwks(before)).keys.map((k) => k.kid)).toEqual(['old', 'new'])
    const signedByOld = await assertionFor(before)
    expect(decodeProtectedHeader(signedByOld).kid).toBe('old')
    const signedByNew = await assertionFor(during)
    expect(decodeProtectedHeader(signedByNew).kid).toBe('new')
    const set = createLocalJWKSet(await jwks(during))
    await jwtVerify(signedByOld, set, { audience: ORIGIN })
    await jwtVerify(signedByNew, set, { audience: ORIGIN })
    // A key no longer configured no longer verifies.
    const after = createLocalJWKSet(await jwks({ ASSERTION_KEYS: JSON.stringify([newKey]) }))
    await expect(jwtVerify(signedByOld, after, { audience: ORIGIN })).rejects.toThrow()
  })

  it('is signed with the configured private key (verifiable with its public half)', async () => {
    const key = await newAssertionKey('direct')
    const token = await assertionFor({ ASSERTION_KEYS: JSON.stringify([key]) })
    const { d: _d, key_ops: _ops, ...publicJwk } = key
    await jwtVerify(token, await importJWK({ ...publicJwk, alg: 'ES256' }, 'ES256'), {
      audience: ORIGIN,
    })
  })

  it('is not added for public paths or unauthenticated requests', async () => {
    const response = await gatewayWith({ PUBLIC_PATHS: '/open' }, '/open', {
      headers: { 'x-auth-assertion': 'forged.by.client' },
    })
    const seen = (await response.json()) as { headers: Record<string, string> }
    expect(seen.headers['x-auth-assertion']).toBeUndefined()
  })
})

// With ACCESS, each route's origin gets an assertion with the route's own audience (as Cloudflare
// Access gives each application its own AUD tag): an origin behind the gateway (a third-party
// status page, a compromised low-value app) must not be able to replay what it receives to another
// origin, skipping that route's allow, MFA, IP and maxSignInAge rules.
describe('X-Auth-Assertion per ACCESS route', () => {
  const SECOND_ORIGIN = (env as unknown as Record<string, string>).TEST_SECOND_ORIGIN_URL!
  const FORWARD_AUTH_TOKEN = 'test-forward-auth-token-0123456789-abcdef'
  const ADMIN_EMAIL = uniqueEmail('ops')
  const ADMIN_AUDIENCE = 'https://admin.gateway.test'
  // Only fields that existed before routes had audiences: the attack needs nothing new.
  const PLAIN = {
    routes: [
      { name: 'status', path: '/status', public: true },
      {
        name: 'admin',
        host: 'admin.gateway.test',
        allow: [{ emails: [ADMIN_EMAIL] }],
        maxSignInAge: 3600,
      },
      { name: 'low', path: '/low/*', origin: SECOND_ORIGIN },
      { name: 'app', path: '/*' },
    ],
  }
  const CHOSEN = {
    routes: [
      { name: 'status', path: '/status', public: true },
      { name: 'news', path: '/news/*', public: true, assertion: true },
      { name: 'billing', path: '/billing/*', audience: 'urn:example:billing' },
      { name: 'sock', path: '/__ws', host: 'ws.gateway.test' },
      { name: 'open-sock', path: '/__ws', host: 'open.gateway.test', public: true },
      { name: 'app', path: '/*' },
    ],
  }

  /** A request through the Worker with `policy` as ACCESS, to any host. */
  async function call(
    policy: object,
    url: string,
    init: RequestInit = {},
    settings: Record<string, string> = {},
  ) {
    const ctx = createExecutionContext()
    const request = new Request(url.startsWith('http') ? url : `${ISSUER}${url}`, {
      redirect: 'manual',
      ...init,
    })
    request.headers.set('cf-connecting-ip', '198.51.100.23')
    const response = await worker.fetch(
      request,
      { ...env, ACCESS: JSON.stringify(policy), ...settings } as Env,
      ctx,
    )
    await waitOnExecutionContext(ctx)
    return response
  }

  /** The assertion the origin behind `url`'s route receives for this cookie (undefined: none). */
  async function capturedAt(
    policy: object,
    url: string,
    cookie: string,
    settings: Record<string, string> = {},
  ) {
    const response = await call(policy, url, { headers: { cookie } }, settings)
    expect(response.status).toBe(200)
    const seen = (await response.json()) as { headers: Record<string, string> }
    expect(seen.headers['x-auth-user']).toMatch(/^prof_/) // the identity is attached either way
    return seen.headers['x-auth-assertion']
  }

  it('an assertion captured at a public or a low-value route is refused by the admin origin', async () => {
    const cookie = await sessionFor(ADMIN_EMAIL)
    const admin = await capturedAt(PLAIN, `${ADMIN_AUDIENCE}/console`, cookie)
    const keys = createLocalJWKSet(await jwks())
    // The admin origin checks the audience its own assertions carry, as the README tells it to.
    const adminAudience = decodeJwt(admin!).aud as string
    const asAdminOrigin = (token: string) =>
      jwtVerify(token, keys, { issuer: ISSUER, audience: adminAudience, algorithms: ['ES256'] })
    await asAdminOrigin(admin!)

    // A compromised low-value app replays what it was sent: the admin origin refuses it.
    const low = await capturedAt(PLAIN, '/low/anything', cookie)
    expect(low).toBeTruthy()
    await expect(asAdminOrigin(low!)).rejects.toThrow(/aud/)
    // A third-party status page is sent nothing it could replay.
    expect(await capturedAt(PLAIN, '/status', cookie)).toBeUndefined()
    // Nor does the catch-all's origin, on the gateway's own host, get the admin host's audience.
    await expect(asAdminOrigin((await capturedAt(PLAIN, '/x', cookie))!)).rejects.toThrow(/aud/)

    // The default audience is documented: https:// + the route's host + its path's base.
    expect(adminAudience).toBe(ADMIN_AUDIENCE)
    expect(decodeJwt(low!).aud).toBe(`${ISSUER}/low`)
  })

  it('one session alternating routes is never handed another route’s cached assertion', async () => {
    const cookie = await sessionFor(ADMIN_EMAIL)
    const routes: [string, string][] = [
      ['/low/a', `${ISSUER}/low`],
      [`${ADMIN_AUDIENCE}/a`, ADMIN_AUDIENCE],
      ['/b', ISSUER],
    ]
    // With the session cached in the isolate, its requests share one identity object, and the
    // assertions remembered for it.
    const cached = { SESSION_CACHE_SECONDS: '60' }
    const seen = new Map<string, Set<string>>()
    for (let round = 0; round < 3; round++)
      for (const [url, audience] of routes) {
        const token = (await capturedAt(PLAIN, url, cookie, cached))!
        expect(decodeJwt(token).aud).toBe(audience)
        seen.set(audience, (seen.get(audience) ?? new Set()).add(token))
      }
    // Each route's assertion is still reused while it is fresh (one signature per 30 s), and no
    // two routes ever share one.
    const tokens = [...seen.values()].map((set) => [...set])
    for (const perRoute of tokens) expect(perRoute).toHaveLength(1)
    expect(new Set(tokens.flat()).size).toBe(routes.length)
  })

  it('a route with no host takes the request’s host (lowercased, no port or trailing dot), always as https', async () => {
    const cookie = await sessionFor(ADMIN_EMAIL)
    const token = await capturedAt(PLAIN, 'https://Other.Gateway.TEST.:8443/low/x', cookie)
    expect(decodeJwt(token!).aud).toBe('https://other.gateway.test/low')
    // The audience names the application, not the connection: always https://.
    const plain = await capturedAt(PLAIN, 'http://other.gateway.test/low/x', cookie)
    expect(decodeJwt(plain!).aud).toBe('https://other.gateway.test/low')
  })

  it('a public route gets no assertion unless it asks for one; "assertion": true gives its own audience', async () => {
    const cookie = await sessionFor(ADMIN_EMAIL)
    expect(await capturedAt(CHOSEN, '/status', cookie)).toBeUndefined()
    const news = await capturedAt(CHOSEN, '/news/today', cookie)
    const keys = createLocalJWKSet(await jwks())
    const { payload } = await jwtVerify(news!, keys, {
      issuer: ISSUER,
      audience: `${ISSUER}/news`,
      algorithms: ['ES256'],
    })
    expect(payload.sub).toMatch(/^prof_/)
    // Anonymous on the public route: nothing to assert.
    const anonymous = await call(CHOSEN, '/news/today')
    const seen = (await anonymous.json()) as { headers: Record<string, string> }
    expect(seen.headers['x-auth-assertion']).toBeUndefined()
  })

  it('a route’s "audience" is the assertion’s aud, and no other route’s', async () => {
    const cookie = await sessionFor(ADMIN_EMAIL)
    const billing = await capturedAt(CHOSEN, '/billing/invoices', cookie)
    const keys = createLocalJWKSet(await jwks())
    await jwtVerify(billing!, keys, { issuer: ISSUER, audience: 'urn:example:billing' })
    const app = await capturedAt(CHOSEN, '/elsewhere', cookie)
    await expect(
      jwtVerify(app!, keys, { issuer: ISSUER, audience: 'urn:example:billing' }),
    ).rejects.toThrow(/aud/)
  })

  it('forward-auth gives the proxy the assertion of the route it decided on', async () => {
    const cookie = await sessionFor(ADMIN_EMAIL)
    const verify = (host: string, uri: string) =>
      call(PLAIN, '/auth/verify', {
        headers: {
          cookie,
          'x-forward-auth-token': FORWARD_AUTH_TOKEN,
          'x-forwarded-method': 'GET',
          'x-forwarded-host': host,
          'x-forwarded-uri': uri,
        },
      })
    const admin = await verify('admin.gateway.test', '/console')
    expect(admin.status).toBe(200)
    expect(decodeJwt(admin.headers.get('x-auth-assertion')!).aud).toBe(ADMIN_AUDIENCE)
    const low = await verify('gateway.test', '/low/x')
    expect(decodeJwt(low.headers.get('x-auth-assertion')!).aud).toBe(`${ISSUER}/low`)
    const status = await verify('gateway.test', '/status')
    expect(status.status).toBe(200)
    expect(status.headers.get('x-auth-user')).toMatch(/^prof_/)
    expect(status.headers.get('x-auth-assertion')).toBeNull()
    // A forwarded host that is no host name could spell another route's audience
    // (`gateway.test/low` + the catch-all's '' is the low route's): refused, no assertion.
    const spelled = await verify('gateway.test/low', '/')
    expect(spelled.status).toBe(400)
    expect(spelled.headers.get('x-auth-assertion')).toBeNull()
  })

  it('a WebSocket upgrade carries its route’s assertion, and none on a public route', async () => {
    const cookie = await sessionFor(ADMIN_EMAIL)
    const hello = async (url: string) => {
      const ctx = createExecutionContext()
      const request = new Request(url, {
        headers: { upgrade: 'websocket', cookie, 'cf-connecting-ip': '198.51.100.23' },
      })
      const response = await worker.fetch(
        request,
        { ...env, ACCESS: JSON.stringify(CHOSEN) } as Env,
        ctx,
      )
      expect(response.status).toBe(101)
      const socket = response.webSocket!
      const first = new Promise<string>((resolve) =>
        socket.addEventListener('message', (event) => resolve(event.data as string), {
          once: true,
        }),
      )
      socket.accept()
      const report = JSON.parse(await first) as { route: string; assertionToken: string | null }
      socket.close(1000)
      await waitOnExecutionContext(ctx)
      return report
    }
    const sock = await hello('https://ws.gateway.test/__ws')
    expect(sock.route).toBe('sock')
    expect(decodeJwt(sock.assertionToken!).aud).toBe('https://ws.gateway.test/__ws')
    const open = await hello('https://open.gateway.test/__ws')
    expect(open.route).toBe('open-sock')
    expect(open.assertionToken).toBeNull()
  })
})

describe('a route’s "audience" and "assertion"', () => {
  const compiled = (routes: Record<string, unknown>[]) =>
    compileAccess({ routes: routes.map((route, i) => ({ name: `r${i}`, ...route })) })
  const problemsOf = (routes: Record<string, unknown>[]) => {
    const result = compiled(routes)
    return result.ok ? [] : result.problems
  }
  const access = (routes: Record<string, unknown>[]): CompiledAccess => {
    const result = compiled(routes)
    if (!result.ok) throw new Error(result.problems.join('\n'))
    return result.access
  }
  const audienceWarnings = (routes: Record<string, unknown>[]) =>
    lintAccess(access(routes)).filter((warning) => warning.includes('audience'))

  it('refuses an audience that is empty, not printable, padded, too long or not a string, never echoing it', () => {
    // Shaped like a live WorkOS key (built up, so no key-shaped literal sits in the source).
    const secretish = `${['sk', 'live', '0123456789abcdef'].join('_')}\n`
    for (const audience of ['', ' urn:a', 'urn:a ', 'urn:\u0007', secretish, 'u'.repeat(257), 42])
      expect(problemsOf([{ audience }])).toEqual([
        'routes[0] (r0).audience: must be 1 to 256 printable characters, no spaces at either end, ' +
          'e.g. "https://admin.example.com" or "urn:example:admin"',
      ])
    expect(problemsOf([{ audience: 'u'.repeat(256) }])).toEqual([])
  })

  it('refuses "assertion" on a route that is not public, and "audience" on a public route without it', () => {
    expect(problemsOf([{ assertion: true }])).toEqual([
      'routes[0] (r0).assertion: has no effect on a route that is not public (every request it ' +
        'allows carries the assertion)',
    ])
    expect(problemsOf([{ public: true, assertion: 'yes' }])).toEqual([
      'routes[0] (r0).assertion: must be true or false',
    ])
    expect(problemsOf([{ public: true, audience: 'urn:a' }])).toEqual([
      'routes[0] (r0).audience: has no effect on a public route without "assertion": true',
    ])
    expect(problemsOf([{ public: true, assertion: true, audience: 'urn:a' }])).toEqual([])
  })

  it('the compiled route says whether it asserts, and its audience when it is fixed', () => {
    const [exact, anyHost, wildcard, exactPath, chosen, open, asking] = access([
      { host: 'Admin.Example.com', path: '/*' },
      { path: '/api/*' },
      { host: '*.example.com', path: '/x' },
      { host: 'a.example.com', path: '/docs/v1' },
      { host: 'b.example.com', audience: 'urn:b' },
      { path: '/open', public: true },
      { path: '/asking/*', public: true, assertion: true },
    ]).routes
    expect(exact).toMatchObject({ assertion: true, audience: 'https://admin.example.com' })
    expect(anyHost).toMatchObject({ assertion: true, audience: undefined, audiencePath: '/api' })
    expect(wildcard).toMatchObject({ audience: undefined, audiencePath: '/x' })
    expect(exactPath).toMatchObject({ audience: 'https://a.example.com/docs/v1' })
    expect(chosen).toMatchObject({ audience: 'urn:b' })
    expect(open).toMatchObject({ assertion: false })
    expect(asking).toMatchObject({ assertion: true, audiencePath: '/asking' })
  })

  it('lint: routes to different destinations that can give the same audience are named', () => {
    const elsewhere = 'https://other.internal.example'
    // Shared on purpose (the same origin): no warning.
    expect(
      audienceWarnings([
        { path: '/a/*', audience: 'urn:x' },
        { path: '/b/*', audience: 'urn:x' },
      ]),
    ).toEqual([])
    expect(
      audienceWarnings([
        { path: '/a/*', audience: 'urn:x' },
        { path: '/b/*', audience: 'urn:x', origin: elsewhere },
      ]),
    ).toEqual([
      'routes[0] (r0) and routes[1] (r1) can give the same assertion audience but go to different ' +
        'destinations: either origin could replay the other’s assertion (give one an "audience" ' +
        'of its own)',
    ])
    // GET to a public, asserting route and the rest to another origin: the same default audience.
    expect(
      audienceWarnings([
        { path: '/docs/*', methods: ['GET'], public: true, assertion: true },
        { path: '/docs/*', origin: elsewhere },
      ]),
    ).toHaveLength(1)
    // A host-less route can see the admin host's requests that the admin route leaves to it.
    expect(
      audienceWarnings([
        { host: 'admin.example.com', methods: ['GET'], origin: elsewhere },
        { path: '/*' },
      ]),
    ).toHaveLength(1)
    expect(
      audienceWarnings([{ host: 'admin.example.com', origin: elsewhere }, { path: '/*' }]),
    ).toEqual([])
    // An explicit audience that spells another route's URL.
    expect(
      audienceWarnings([
        { path: '/api/*', origin: elsewhere },
        { path: '/x/*', audience: 'https://app.example.com/api' },
      ]),
    ).toHaveLength(1)
    // A public route without an assertion gives none.
    expect(
      audienceWarnings([
        { path: '/docs/*', methods: ['GET'], public: true },
        { path: '/docs/*', origin: elsewhere },
      ]),
    ).toEqual([])
  })

  it('ASSERTION_AUDIENCE cannot be set together with ACCESS (each route has its own)', () => {
    let problems: { variable: string; problem: string }[] = []
    try {
      parseConfig({
        ...env,
        ACCESS: JSON.stringify({ routes: [{ name: 'app' }] }),
        ASSERTION_AUDIENCE: 'urn:everything',
      } as unknown as Record<string, unknown>)
    } catch (error) {
      if (error instanceof ConfigError) problems = [...error.problems]
    }
    expect(problems).toEqual([
      {
        variable: 'ASSERTION_AUDIENCE',
        problem:
          "must not be set together with ACCESS: each route's assertion carries its own audience " +
          '(the route\'s "audience", default its URL)',
      },
    ])
  })
})
