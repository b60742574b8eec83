import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { sha256 } from '../src/crypto'
import worker from '../src/index'
import { UNVERIFIED_LIMIT_MS, givesUpOnGrant } from '../src/websocket/grant-watch'
import { closeCodeFor } from '../src/websocket/relay'
import { GATEWAY, json, signIn, uniqueEmail, sessionFor } from './helpers'

// WebSockets through the real Worker (README "WebSockets"), against the demo origin's /__ws
// echo socket (scripts/demo-origin.ts): what crosses with the upgrade, messages and closes both
// ways, the answers instead of an upgrade, and the gateway closing a socket whose grant ended.

const bindings = env as unknown as Record<string, string>
const ORIGIN = bindings.ORIGIN_URL!
const SECOND_ORIGIN = bindings.TEST_SECOND_ORIGIN_URL!
const BLOCKED_EMAIL = uniqueEmail('blocked')
const APP_ORIGIN = 'https://app.example.test'

const ACCESS = JSON.stringify({
  routes: [
    { name: 'second', host: 'second.gateway.test', path: '/__ws', origin: SECOND_ORIGIN },
    { name: 'open', host: 'open.gateway.test', path: '/__ws', public: true },
    {
      name: 'sockets',
      path: '/__ws',
      allow: [{ domains: ['example.com'] }],
      deny: [{ emails: [BLOCKED_EMAIL] }],
      cors: { origins: [APP_ORIGIN] },
    },
    { name: 'refusing', path: '/refuse/*' },
    // Nothing listens on the discard port: the origin is unreachable.
    { name: 'gone', path: '/gone/*', origin: 'http://127.0.0.1:9' },
    { name: 'no-sockets', path: '/nows/*', websockets: false },
  ],
})

interface Hello {
  hello: true
  path: string
  host: string
  user: string | null
  email: string | null
  route: string | null
  assertion: boolean
  origin: string | null
  cookie: string | null
  forwardedHost: string | null
  protocol: string | null
}
interface Closed {
  code: number
  reason: string
  at: number
}

/** Fails with `what` unless `promise` settles within `ms`, so a socket that never answers fails fast. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** An upgrade through the Worker; `access: false` runs without ACCESS (the session gate). */
async function upgrade(
  url: string,
  headers: Record<string, string> = {},
  options: { access?: boolean; env?: Record<string, unknown> } = {},
) {
  const ctx = createExecutionContext()
  const request = new Request(url.startsWith('http') ? url : `${GATEWAY}${url}`, {
    headers: { upgrade: 'websocket', 'cf-connecting-ip': '198.51.100.7', ...headers },
  })
  const overrides = { ...(options.access !== false && { ACCESS }), ...options.env }
  const response = await worker.fetch(request, { ...env, ...overrides } as Env, ctx)
  return { response, ctx }
}

/** Accepts the socket of a 101 and reads it: messages in order, and how it was closed. */
function accept(response: Response) {
  expect(response.status).toBe(101)
  const socket = response.webSocket!
  expect(socket).toBeTruthy()
  socket.binaryType = 'arraybuffer'
  socket.accept()
  const inbox: (string | ArrayBuffer)[] = []
  const waiting: ((message: string | ArrayBuffer) => void)[] = []
  socket.addEventListener('message', (event) => {
    const next = waiting.shift()
    if (next) next(event.data)
    else inbox.push(event.data)
  })
  const closed = new Promise<Closed>((resolve) =>
    socket.addEventListener('close', (event) =>
      resolve({ code: event.code, reason: event.reason, at: Date.now() }),
    ),
  )
  const next = () =>
    within(
      inbox.length > 0
        ? Promise.resolve(inbox.shift()!)
        : new Promise<string | ArrayBuffer>((resolve) => waiting.push(resolve)),
      3000,
      'a message',
    )
  return {
    socket,
    next,
    hello: async () => JSON.parse((await next()) as string) as Hello,
    closed: (ms = 5000) => within(closed, ms, 'the close'),
  }
}

/** How the origin saw the /__ws?id=… socket end (it records it a moment after the close). */
async function originSawClose(origin: string, id: string): Promise<Closed> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const response = await fetch(`${origin}/__ws/closed?id=${id}`)
    if (response.status === 200) return (await response.json()) as Closed
    await response.body?.cancel()
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`the origin never saw socket ${id} close`)
}

const socketId = () => crypto.randomUUID()

const sessionKeyOf = async (cookie: string) =>
  `session:${await sha256(cookie.slice('__Host-session='.length).split('.')[0]!)}`

const signedIn = sessionFor

describe('a socket through the gateway', () => {
  it('a public route relays a socket without a session, and with no identity', async () => {
    const { response, ctx } = await upgrade('https://open.gateway.test/__ws')
    const client = accept(response)
    const hello = await client.hello()
    expect(hello.user ?? null).toBeNull()
    expect(hello.route).toBe('open')
    client.socket.close(1000, 'bye')
    await client.closed()
    await within(waitOnExecutionContext(ctx), 3000, 'the relay to settle')
  })

  it('an upgrade by any other method than GET is refused, never opened as a GET', async () => {
    const cookie = await signedIn()
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const ctx = createExecutionContext()
      const response = await worker.fetch(
        new Request(`${GATEWAY}/__ws`, { method, headers: { upgrade: 'websocket', cookie } }),
        { ...env, ACCESS } as Env,
        ctx,
      )
      expect(response.status).toBe(400)
      expect(response.webSocket).toBeNull()
      expect(await response.json()).toMatchObject({ error: 'bad_upgrade' })
    }
  })

  it('echoes text and binary both ways; the origin sees the identity, the route and the assertion, never the gateway cookie', async () => {
    const email = uniqueEmail()
    const cookie = await signedIn(email)
    const { response, ctx } = await upgrade('/__ws', {
      cookie: `${cookie}; theme=dark`,
      origin: GATEWAY,
      'sec-websocket-protocol': 'chat.v1, chat.v0',
    })
    expect(response.headers.get('sec-websocket-protocol')).toBe('chat.v1')
    const client = accept(response)
    const hello = await client.hello()
    expect(hello).toMatchObject({
      path: '/__ws',
      host: new URL(ORIGIN).host,
      email,
      route: 'sockets',
      assertion: true,
      origin: GATEWAY,
      cookie: 'theme=dark',
      forwardedHost: 'gateway.test',
      protocol: 'chat.v1',
    })
    expect(hello.user).toBeTruthy()

    client.socket.send('ping')
    expect(await client.next()).toBe('ping')
    client.socket.send(new Uint8Array([0, 1, 2, 255]))
    const binary = await client.next()
    expect(binary).toBeInstanceOf(ArrayBuffer)
    expect([...new Uint8Array(binary as ArrayBuffer)]).toEqual([0, 1, 2, 255])
    client.socket.send('é'.repeat(40_000))
    expect(await client.next()).toBe('é'.repeat(40_000))

    client.socket.close(1000, 'bye')
    expect(await client.closed()).toMatchObject({ code: 1000 })
    // The relay settles (and clears its timers) once the socket is closed.
    await within(waitOnExecutionContext(ctx), 3000, 'the relay to settle')
  })

  it('a route’s own origin is reached, and the session gate (no ACCESS) relays too', async () => {
    const email = uniqueEmail()
    const cookie = await signedIn(email)
    const second = await upgrade('https://second.gateway.test/__ws', { cookie })
    const viaRoute = accept(second.response)
    expect(await viaRoute.hello()).toMatchObject({
      host: new URL(SECOND_ORIGIN).host,
      route: 'second',
      email,
      assertion: true,
      forwardedHost: 'second.gateway.test',
    })
    viaRoute.socket.close(1000)
    await viaRoute.closed()

    const plain = await upgrade('/__ws', { cookie, origin: GATEWAY }, { access: false })
    const viaSessionGate = accept(plain.response)
    const hello = await viaSessionGate.hello()
    expect(hello).toMatchObject({ email, route: null, assertion: true, cookie: null })
    viaSessionGate.socket.send('through the session gate')
    expect(await viaSessionGate.next()).toBe('through the session gate')
    viaSessionGate.socket.close(1000)
    await viaSessionGate.closed()
    await waitOnExecutionContext(second.ctx)
    await waitOnExecutionContext(plain.ctx)
  })

  it('a close from either side reaches the other with its code and reason', async () => {
    const cookie = await signedIn()
    const fromClient = socketId()
    const a = accept((await upgrade(`/__ws?id=${fromClient}`, { cookie })).response)
    await a.hello()
    a.socket.close(4000, 'client done')
    await a.closed()
    expect(await originSawClose(ORIGIN, fromClient)).toMatchObject({
      code: 4000,
      reason: 'client done',
    })

    const b = accept((await upgrade('/__ws', { cookie })).response)
    await b.hello()
    b.socket.send('__close 4001 origin done')
    expect(await b.closed()).toMatchObject({ code: 4001, reason: 'origin done' })

    // Codes that never cross the wire are mapped: none (1005) is a normal close, a dropped
    // connection (1006) is 1011.
    const c = accept((await upgrade('/__ws', { cookie })).response)
    await c.hello()
    c.socket.send('__close')
    expect(await c.closed()).toMatchObject({ code: 1000 })
    const d = accept((await upgrade('/__ws', { cookie })).response)
    await d.hello()
    d.socket.send('__drop')
    expect(await d.closed()).toMatchObject({ code: 1011 })
  })
})

describe('refused upgrades: an answer, never a socket', () => {
  it('no session: 401 JSON, no redirect', async () => {
    const { response } = await upgrade('/__ws', { accept: 'text/html' })
    expect(response.status).toBe(401)
    expect(response.webSocket).toBeNull()
    expect(await response.json()).toMatchObject({ error: 'not_signed_in' })
    const plain = await upgrade('/__ws', {}, { access: false })
    expect(plain.response.status).toBe(401)
    expect(await plain.response.json()).toMatchObject({ error: 'not_signed_in' })
  })

  it('refused by the policy: 403', async () => {
    const cookie = await signedIn(BLOCKED_EMAIL)
    const { response } = await upgrade('/__ws', { cookie })
    expect(response.status).toBe(403)
    expect(response.webSocket).toBeNull()
    expect(await response.json()).toMatchObject({ error: 'access_denied' })
  })

  it('websockets: false: 403', async () => {
    const cookie = await signedIn()
    const { response } = await upgrade('/nows/socket', { cookie })
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ error: 'websockets_not_allowed' })
  })

  it('a page from another site: 403 (cross-site WebSocket hijacking); a listed cors origin is let in', async () => {
    const cookie = await signedIn()
    for (const origin of ['https://evil.example', 'null', 'https://gateway.test.evil.example']) {
      const { response } = await upgrade('/__ws', { cookie, origin })
      expect(response.status, origin).toBe(403)
      expect(response.webSocket).toBeNull()
      expect(await response.json()).toMatchObject({ error: 'websocket_origin_not_allowed' })
    }
    // Without ACCESS only the gateway's own pages may open a socket.
    const plain = await upgrade('/__ws', { cookie, origin: APP_ORIGIN }, { access: false })
    expect(plain.response.status).toBe(403)

    const listed = accept((await upgrade('/__ws', { cookie, origin: APP_ORIGIN })).response)
    expect(await listed.hello()).toMatchObject({ origin: APP_ORIGIN, route: 'sockets' })
    listed.socket.close(1000)
    await listed.closed()
  })

  it('on an app host, a page of the sign-in host cannot open a socket as the person', async () => {
    // SIGN_IN_HOST is gateway.test (PUBLIC_URL's host): whatever a page there could be, it is
    // another host's page to app.gateway.test, and its sockets are cross-host hijacking.
    const cookie = await signedIn()
    const settings = {
      env: { SIGN_IN_HOST: 'gateway.test', ALLOWED_HOSTS: 'gateway.test, app.gateway.test' },
    }
    const { response } = await upgrade(
      'https://app.gateway.test/__ws',
      { cookie, origin: 'https://gateway.test' },
      settings,
    )
    expect(response.status).toBe(403)
    expect(response.webSocket).toBeNull()
    // The app host's own pages still may.
    const own = accept(
      (
        await upgrade(
          'https://app.gateway.test/__ws',
          { cookie, origin: 'https://app.gateway.test' },
          settings,
        )
      ).response,
    )
    expect(await own.hello()).toMatchObject({ origin: 'https://app.gateway.test' })
    own.socket.close(1000)
    await own.closed()
  })

  it('an origin that refuses the upgrade is answered as it answered; an unreachable one is 502', async () => {
    const cookie = await signedIn()
    const refused = await upgrade('/refuse/socket', { cookie })
    expect(refused.response.status).toBe(403)
    expect(refused.response.webSocket).toBeNull()
    expect(await refused.response.json()).toEqual({
      error: 'origin_refused_upgrade',
      path: '/refuse/socket',
    })
    const gone = await upgrade('/gone/socket', { cookie })
    expect(gone.response.status).toBe(502)
    expect(await gone.response.json()).toMatchObject({ error: 'origin_unavailable' })
  })
})

describe('a socket does not outlive its grant', () => {
  it('sign out everywhere closes it (1008) within one re-check', async () => {
    const email = uniqueEmail()
    const laptop = await signIn(email)
    const phone = await signIn(email)
    const id = socketId()
    const { response, ctx } = await upgrade(
      `/__ws?id=${id}`,
      { cookie: laptop.cookie },
      { env: { WEBSOCKET_RECHECK_SECONDS: '1' } },
    )
    const client = accept(response)
    await client.hello()
    client.socket.send('still here')
    expect(await client.next()).toBe('still here')

    const out = await worker.fetch(
      new Request(`${GATEWAY}/auth/logout`, json({ everywhere: true }, { cookie: phone.cookie })),
      env,
      createExecutionContext(),
    )
    expect(out.status).toBe(200)
    const signedOutAt = Date.now()
    const closed = await client.closed(4000)
    expect(closed).toMatchObject({ code: 1008, reason: 'session ended' })
    const lagMs = closed.at - signedOutAt
    console.log(JSON.stringify({ websocketSignOutCloseLagMs: lagMs, recheckSeconds: 1 }))
    // One re-check interval, plus the re-check's own KV read.
    expect(lagMs).toBeLessThan(2500)
    expect(await originSawClose(ORIGIN, id)).toMatchObject({ code: 1008, reason: 'session ended' })
    await within(waitOnExecutionContext(ctx), 3000, 'the relay to settle')
  })

  it('the session’s absolute end closes it (1008) on time, without waiting for a re-check', async () => {
    const cookie = await signedIn()
    const key = await sessionKeyOf(cookie)
    const record = JSON.parse((await env.SESSIONS.get(key, 'text'))!)
    const endsAt = Date.now() + 2500
    await env.SESSIONS.put(key, JSON.stringify({ ...record, expiresAt: endsAt }), {
      expirationTtl: 3600,
    })
    // Re-checks every 60 s: only the end-of-session timer can close it in time.
    const { response, ctx } = await upgrade(
      '/__ws',
      { cookie },
      { env: { WEBSOCKET_RECHECK_SECONDS: '60' } },
    )
    const client = accept(response)
    await client.hello()
    const closed = await client.closed(6000)
    expect(closed).toMatchObject({ code: 1008, reason: 'session ended' })
    expect(closed.at).toBeGreaterThanOrEqual(endsAt - 50)
    expect(closed.at - endsAt).toBeLessThan(1000)
    await within(waitOnExecutionContext(ctx), 3000, 'the relay to settle')
  })

  it('a KV failure during re-checks does not close a healthy socket', async () => {
    const cookie = await signedIn()
    const kv = flakyKv()
    const { response, ctx } = await upgrade(
      '/__ws',
      { cookie },
      { env: { WEBSOCKET_RECHECK_SECONDS: '1', SESSIONS: kv.binding } },
    )
    const client = accept(response)
    await client.hello()
    kv.failing = true
    // Two failed re-checks and more.
    await new Promise((resolve) => setTimeout(resolve, 2600))
    expect(kv.refused).toBeGreaterThanOrEqual(2)
    client.socket.send('still open')
    expect(await client.next()).toBe('still open')
    kv.failing = false
    await new Promise((resolve) => setTimeout(resolve, 1200))
    client.socket.send('and after')
    expect(await client.next()).toBe('and after')
    client.socket.close(1000)
    expect(await client.closed()).toMatchObject({ code: 1000 })
    await within(waitOnExecutionContext(ctx), 3000, 'the relay to settle')
  })

  it('the rule for failed re-checks: never on the first, and never unverified past 60 s', () => {
    expect(givesUpOnGrant(1, 10 * UNVERIFIED_LIMIT_MS)).toBe(false)
    expect(givesUpOnGrant(59, UNVERIFIED_LIMIT_MS - 1)).toBe(false)
    expect(givesUpOnGrant(2, UNVERIFIED_LIMIT_MS)).toBe(true)
    expect(givesUpOnGrant(60, UNVERIFIED_LIMIT_MS)).toBe(true)
  })

  it('close codes that cannot be sent are mapped; the ones passed on can be sent', async () => {
    expect(closeCodeFor(1005)).toBe(1000)
    expect(closeCodeFor(1006)).toBe(1011)
    expect(closeCodeFor(1015)).toBe(1011)
    expect(closeCodeFor(1004)).toBe(1011)
    expect(closeCodeFor(2000)).toBe(1011)
    for (const code of [1000, 1001, 1008, 1011, 3000, 4999]) expect(closeCodeFor(code)).toBe(code)
    // workerd's close() takes every code passed on (1013 is the gateway's own "try again later").
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1011, 1012, 1013, 1014, 3000, 4999]) {
      const pair = new WebSocketPair()
      pair[0].accept()
      pair[1].accept()
      const seen = new Promise<number>((resolve) =>
        pair[0].addEventListener('close', (event) => resolve(event.code)),
      )
      pair[1].close(code, 'x')
      expect(await within(seen, 1000, `close ${code}`)).toBe(code)
    }
  })
})

/** The real KV binding, made to fail every call while `failing` is set (KV down). */
function flakyKv() {
  const state = {
    failing: false,
    refused: 0,
    binding: undefined as unknown as KVNamespace,
  }
  state.binding = new Proxy(env.SESSIONS, {
    get(target, name: string) {
      const value = (target as unknown as Record<string, unknown>)[name]
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (state.failing) {
          state.refused += 1
          return Promise.reject(new Error('KV is unavailable'))
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return state
}
