import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import worker from '../src/index'
import { METHOD_IDS, SIGN_IN_METHODS, routeParts } from '../src/sign-in/methods'
import {
  cookieFrom,
  gateway,
  gatewayWith,
  json,
  latestCode,
  mailFor,
  sessionCookieFrom,
  sessionFor,
  uniqueEmail,
} from './helpers'

// The one gate (PUBLIC_PATHS compiled into the policy ACCESS uses, forward-auth a mode of the
// same gate, sign-in methods as modules), attacked from outside: each test is an attacker's
// attempt, through HTTP only.

const FORWARD_AUTH_TOKEN = 'test-forward-auth-token-0123456789-abcdef'
const API = { accept: 'application/json' }

/** A request to another host than the helpers' gateway.test, with these settings. */
async function onHost(url: string, settings: Record<string, unknown>, init: RequestInit = {}) {
  const request = new Request(url, { redirect: 'manual', ...init })
  request.headers.set('cf-connecting-ip', '198.51.100.61')
  const ctx = createExecutionContext()
  const response = await worker.fetch(request, { ...env, ...settings } as Env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

type Echo = { headers: Record<string, string>; rawHeaders: string[] }

describe('PUBLIC_PATHS: an internet client naming a public path', () => {
  const OPEN = { PUBLIC_PATHS: '/open/*' }

  it.each([
    // Windows drops a trailing space or dot from a segment: an origin there may read `..`.
    '/open/..%20/admin',
    '/open/.../admin',
    // An NTFS stream, which IIS may serve as the folder `..` itself.
    '/open/..::$INDEX_ALLOCATION/admin',
    // A NUL, which C-based origins end the path at.
    '/open/admin%00.css',
    '/open//admin',
  ])(
    'cannot reach the origin without a session through %s (a path ACCESS refuses is never public)',
    async (path) => {
      expect((await gatewayWith(OPEN, '/open/page', { headers: API })).status).toBe(200)
      const answer = await gatewayWith(OPEN, path, { headers: API })
      expect(answer.status, path).toBe(401)
      expect(await answer.json()).toMatchObject({ error: 'not_signed_in' })
    },
  )

  it('cannot have an identity header of its own reach the origin of a public path, in any case or spelling', async () => {
    const cookie = await sessionFor()
    const spoofed = new Headers({ ...API, cookie })
    for (const name of [
      'X-Auth-Organization',
      'x_auth_organization',
      'X-AUTH-ROUTE',
      'x_auth_route',
      'X-Auth-User',
      'X-Auth-Service-Token',
    ])
      spoofed.append(name, 'org_attacker')
    const policy = JSON.stringify({ routes: [{ name: 'pub', path: '/pub/*', public: true }] })
    for (const [settings, path] of [
      [OPEN, '/open/x'],
      [{ ACCESS: policy }, '/pub/x'],
    ] as const) {
      const answer = await gatewayWith(settings, path, { headers: spoofed })
      expect(answer.status, path).toBe(200)
      const seen = (await answer.json()) as Echo
      expect(seen.rawHeaders.join('\n'), path).not.toContain('org_attacker')
    }
    // Under ACCESS the gateway names the route itself; a public path carries nobody.
    const pub = (await (
      await gatewayWith({ ACCESS: policy }, '/pub/x', { headers: spoofed })
    ).json()) as Echo
    expect(pub.headers['x-auth-route']).toBe('pub')
    const open = (await (await gatewayWith(OPEN, '/open/x', { headers: spoofed })).json()) as Echo
    expect(open.headers['x-auth-user']).toBeUndefined()
    expect(open.headers['x-auth-route']).toBeUndefined()
  })
})

describe('forward-auth: a client behind a proxy that appends instead of replacing', () => {
  const POLICY = JSON.stringify({
    routes: [
      { name: 'pub', path: '/pub/*', public: true },
      { name: 'admin', host: 'admin.gateway.test', path: '/*', deny: [{ everyone: true }] },
      { name: 'apps', host: '*.gateway.test', path: '/*', deny: [{ methods: ['DELETE'] }] },
    ],
  })
  const asked = async (headers: Record<string, string>) =>
    gatewayWith({ ACCESS: POLICY }, '/auth/verify', {
      headers: {
        ...API,
        cookie: await sessionFor(),
        'x-forward-auth-token': FORWARD_AUTH_TOKEN,
        'x-forwarded-method': 'GET',
        'x-forwarded-host': 'app.gateway.test',
        'x-forwarded-uri': '/items/1',
        ...headers,
      },
    })

  it('cannot have a list of methods, hosts or URIs decided as something neither it nor the proxy asked', async () => {
    // What the proxy itself asks is refused…
    expect((await asked({ 'x-forwarded-method': 'DELETE' })).status).toBe(403)
    expect((await asked({ 'x-forwarded-host': 'admin.gateway.test' })).status).toBe(403)
    expect(
      (await asked({ 'x-forwarded-host': 'admin.gateway.test', 'x-forwarded-uri': '/admin' }))
        .status,
    ).toBe(403)
    // …and with the client's own copy before the proxy's, nothing is decided at all.
    for (const headers of [
      { 'x-forwarded-method': 'GET, DELETE' } as Record<string, string>,
      { 'x-forwarded-host': 'x.example, admin.gateway.test' },
      { 'x-forwarded-host': 'admin.gateway.test', 'x-forwarded-uri': '/pub/x, /admin' },
      { 'x-forwarded-host': 'admin.gateway.test', 'x-forwarded-uri': '/pub/x?, /admin' },
    ]) {
      const answer = await asked(headers)
      expect(answer.status, JSON.stringify(headers)).toBe(400)
      expect(await answer.json()).toMatchObject({ error: 'bad_forwarded_request' })
      expect(answer.headers.get('x-auth-user')).toBeNull()
    }
    expect((await asked({})).status).toBe(200)
  })

  it('cannot have its own X-Auth-* headers, in any case or spelling, come back on the answer', async () => {
    for (const settings of [{}, { ACCESS: POLICY }]) {
      const answer = await gatewayWith(settings, '/auth/verify', {
        headers: {
          cookie: await sessionFor(),
          'x-forwarded-method': 'GET',
          'x-forwarded-host': 'app.gateway.test',
          'x-forwarded-uri': '/pub/x',
          'X-Auth-Organization': 'org_attacker',
          x_auth_route: 'admin',
          'X-AUTH-USER': 'user_attacker',
          'X-Auth-Assertion': 'a.b.c',
        },
      })
      expect(answer.status).toBe(200)
      const headers = [...answer.headers].map(([name, value]) => `${name}: ${value}`).join('\n')
      expect(headers).not.toMatch(/attacker|x_auth|a\.b\.c/)
      expect(answer.headers.get('x-auth-organization')).toBeNull()
      expect(answer.headers.get('x-auth-route')).toBe('ACCESS' in settings ? 'pub' : null)
    }
  })
})

describe('sign-in methods as modules: an internet client', () => {
  it('cannot start a sign-in method SIGN_IN_METHODS leaves out through any of its routes', async () => {
    const email = uniqueEmail('off')
    const linkOnly = { SIGN_IN_METHODS: 'link' }
    const code = await gatewayWith(linkOnly, '/auth/magic-auth', json({ email }))
    expect(code.status).toBe(404)
    expect(await code.json()).toMatchObject({ error: 'method_not_offered' })
    expect(cookieFrom(code, '__Host-magic-auth')).toBeUndefined()
    const verify = await gatewayWith(
      linkOnly,
      '/auth/magic-auth/verify',
      json({ email, code: '123456' }),
    )
    expect(verify.status).toBe(400)
    expect(await verify.json()).toMatchObject({ error: 'code_not_requested' })
    for (const [path, init] of [
      ['/auth/sso', json({ email, organization: 'org_01ATTACK' })],
      [`/auth/sso?organization=org_01ATTACK&email=${encodeURIComponent(email)}`, { headers: API }],
    ] as const) {
      const sso = await gatewayWith(linkOnly, path, init)
      expect(sso.status, path).toBe(404)
      expect(sso.headers.get('location'), path).toBeNull()
    }
    const link = await gatewayWith({ SIGN_IN_METHODS: 'code' }, '/auth/magic-link', json({ email }))
    expect(link.status).toBe(404)
    expect(await link.json()).toMatchObject({ error: 'method_not_offered' })
    expect(await mailFor(email)).toEqual([])
  })

  it('cannot reach any sign-in method’s route on an app host (SIGN_IN_HOST)', async () => {
    const settings = {
      SIGN_IN_HOST: 'gateway.test',
      ALLOWED_HOSTS: 'gateway.test, app.gateway.test',
    }
    const routes = METHOD_IDS.flatMap((id) =>
      Object.values<`${'GET' | 'POST'} /auth/${string}`>(SIGN_IN_METHODS[id].routes).map(
        routeParts,
      ),
    )
    routes.push(['GET', '/auth/callback'], ['POST', '/auth/callback'])
    for (const [method, path] of routes) {
      const url = `https://app.gateway.test${path.replace(':token', 'abc')}`
      const answer = await onHost(url, settings, {
        method,
        headers: { ...API, 'content-type': 'application/json', origin: 'https://app.gateway.test' },
        ...(method === 'POST' && { body: '{"email":"a@example.com","code":"123456"}' }),
      })
      expect(answer.status, `${method} ${path}`).toBe(404)
      expect(await answer.json()).toMatchObject({ error: 'sign_in_elsewhere' })
    }
  })

  it('cannot have its session claim another method’s amr, a second factor or an organization by posting them', async () => {
    const email = uniqueEmail('amr')
    const requested = await gateway('/auth/magic-auth', json({ email }))
    expect(requested.status).toBe(200)
    const verified = await gateway(
      '/auth/magic-auth/verify',
      json(
        {
          email,
          code: await latestCode(email),
          method: 'sso',
          amr: ['sso', 'mfa'],
          mfa: true,
          organization: 'org_01ATTACK',
          organizationId: 'org_01ATTACK',
        },
        { cookie: cookieFrom(requested, '__Host-magic-auth')! },
      ),
    )
    const cookie = sessionCookieFrom(verified)!
    expect(cookie).toBeDefined()
    const answer = await gateway('/auth/verify', {
      headers: { cookie, 'x-forward-auth-token': FORWARD_AUTH_TOKEN },
    })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('x-auth-organization')).toBeNull()
    const claims = decodeJwt(answer.headers.get('x-auth-assertion')!)
    expect(claims.amr).toEqual(['otp'])
    expect(claims.org_id).toBeUndefined()
    const me = (await (await gateway('/auth/me', { headers: { cookie } })).json()) as {
      session: Record<string, unknown>
    }
    expect(me.session).toMatchObject({ method: 'magic_auth', authMethod: 'code', mfa: false })
    expect(me.session.organizationId).toBeUndefined()
  })
})
