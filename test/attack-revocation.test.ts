import { env } from 'cloudflare:workers'
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { handoffCodeKey } from '../src/kv/keys'
import worker from '../src/index'
import {
  ADMIN_TOKEN,
  EMULATOR,
  GATEWAY,
  gateway,
  json,
  latestCode,
  pathOf,
  productionSettings,
  sessionCookieFrom,
  sessionKvKeyOf,
  signIn,
  signInWithCode,
  uniqueEmail,
} from './helpers'
import {
  elsewhereKv,
  homeKv,
  instance,
  probedAuthority,
  refusedAfter,
  replicate,
  closedAfterEnd,
  sleep,
  socketOf,
  type Instance,
} from './two-instances'

// The revocation authority attacked from outside (README "Revocation in seconds, everywhere"):
// a stolen cookie or token, an internet client, a tenant's IdP, an operator and the platform
// failing. Two gateway instances share no KV, only the authority: instance B's KV holds what KV
// replication would have brought it (the session's record), so only the authority can end it
// there.

const admin = (home: Instance, body: Record<string, unknown>) =>
  home('/auth/admin/revoke', json(body, { authorization: `Bearer ${ADMIN_TOKEN}` }))

describe('the platform fails while an end is being recorded', () => {
  it('sign-out while the authority is down: 503, and the stolen copy of the cookie stops anyway', async () => {
    const email = uniqueEmail('down-signout')
    const { cookie } = await signIn(email)
    const authority = probedAuthority()
    const home = instance({ REVOCATIONS: authority.namespace })
    const asJson = { cookie, accept: 'application/json' }
    expect((await home('/x', { headers: asJson })).status).toBe(200)

    authority.state.mode = 'down'
    const out = await home('/auth/logout', json({}, { cookie }))
    expect(out.status).toBe(503)
    expect(await out.json()).toMatchObject({ error: 'revocation_unavailable' })
    // The person's browser drops its cookie and cannot ask again; the thief's copy must stop
    // all the same, once the authority answers again (KV carries the end everywhere).
    authority.state.mode = 'up'
    expect((await home('/x', { headers: asJson })).status).toBe(401)
    expect(
      await homeKv.get(`ended:${(await sessionKvKeyOf(cookie)).slice('session:'.length)}`),
    ).toBe('1')
  })
})

describe('the authority’s storage is reset', () => {
  it('an authority reset and refilled past a view’s sequence: ends recorded since are still enforced elsewhere', async () => {
    const authority = probedAuthority()
    const home = instance({ REVOCATIONS: authority.namespace })
    const elsewhere = instance({
      SESSIONS: elsewhereKv,
      REVOCATIONS: authority.namespace,
      REVOCATION_BOUND_SECONDS: '1',
    })
    // Instance B's view has read three ends from the authority as it was.
    for (let i = 0; i < 3; i++)
      expect((await admin(home, { email: uniqueEmail('before-reset') })).status).toBe(200)
    const { cookie, email } = await signIn(uniqueEmail('reset-victim'))
    await replicate(cookie)
    expect((await elsewhere('/x', { headers: { cookie } })).status).toBe(200)

    // The storage is gone (a migration deleted the class, the platform lost it): a fresh object.
    authority.state.generation = `probe-${crypto.randomUUID()}`
    expect((await admin(home, { email })).status).toBe(200)
    // Busy: more ends recorded before B's next read than B had ever seen.
    for (let i = 0; i < 3; i++)
      expect((await admin(home, { email: uniqueEmail('after-reset') })).status).toBe(200)
    await refusedAfter(elsewhere, cookie, '/x', Date.now(), 1000 + 1500)
  })
})

// One sign-in for every host (SIGN_IN_HOST): gateway.test signs people in, app.gateway.test gets
// a host session of its own through a one-time code. Each host may be served by another instance.
const HOSTS = {
  SIGN_IN_HOST: 'gateway.test',
  ALLOWED_HOSTS: 'gateway.test, app.gateway.test',
}
const APP = 'https://app.gateway.test'

/** A browser with one cookie jar per host; each host's requests go to the instance `serve` names. */
class Browser {
  private readonly jars = new Map<string, Map<string, string>>()
  constructor(private readonly serve: (host: string) => Instance) {}

  async fetch(url: string, init: RequestInit = {}) {
    const target = new URL(url)
    const jar = this.jarFor(target.hostname)
    const headers = new Headers(init.headers)
    headers.set('cf-connecting-ip', '198.51.100.77')
    if (jar.size > 0)
      headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '))
    const ctx = createExecutionContext()
    const response = await worker.fetch(
      new Request(target, { redirect: 'manual', ...init, headers }),
      this.serve(target.hostname).env,
      ctx,
    )
    await waitOnExecutionContext(ctx)
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const at = pair.indexOf('=')
      if (!pair.slice(at + 1) || /Max-Age=0/i.test(line)) jar.delete(pair.slice(0, at))
      else jar.set(pair.slice(0, at), pair.slice(at + 1))
    }
    return response
  }

  cookie(host: string, name: string) {
    return this.jarFor(host).get(name)
  }

  /** A cookie copied in from elsewhere (a stolen one). */
  plant(host: string, name: string, value: string) {
    this.jarFor(host).set(name, value)
  }

  private jarFor(host: string) {
    if (!this.jars.has(host)) this.jars.set(host, new Map())
    return this.jars.get(host)!
  }

  /** Follows redirects to the sign-in host's handoff page; returns the code's form, not posted. */
  async handoffFor(appUrl: string): Promise<{ action: string; code: string }> {
    let current = appUrl
    for (let i = 0; i < 6; i++) {
      const response = await this.fetch(current, { headers: { accept: 'text/html' } })
      if (response.status === 200 && new URL(current).pathname === '/auth/handoff/start') {
        const html = await response.text()
        const action = /<form method="post" action="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&')
        return { action, code: /name="code" value="([^"]+)"/.exec(html)![1]! }
      }
      const location = response.headers.get('location')
      await response.body?.cancel()
      if (!location) throw new Error(`${current} answered ${response.status}`)
      current = new URL(location, current).toString()
    }
    throw new Error('no handoff page')
  }

  /** Posts a handoff form as the sign-in host's page does. */
  handOff({ action, code }: { action: string; code: string }) {
    return this.fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: GATEWAY },
      body: new URLSearchParams({ code }).toString(),
    })
  }

  /** Signs in with a code on the sign-in host, on the way to `appUrl`, and hands off there. */
  async signInFor(email: string, appUrl = `${APP}/reports`) {
    const left = await this.fetch(appUrl, { headers: { accept: 'text/html' } })
    const login = new URL(left.headers.get('location')!)
    const page = await (
      await this.fetch(login.toString(), { headers: { accept: 'text/html' } })
    ).text()
    const returnTo = /name="returnTo" value="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&')
    const post = (path: string, body: unknown) =>
      this.fetch(`${GATEWAY}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    expect((await post('/auth/magic-auth', { email, returnTo })).status).toBe(200)
    expect((await post('/auth/magic-auth/verify', { code: await latestCode(email) })).status).toBe(
      200,
    )
    return this.handoffFor(appUrl)
  }

  async status(origin: string, path = '/auth/me') {
    const response = await this.fetch(`${origin}${path}`, {
      headers: { accept: 'application/json' },
    })
    await response.body?.cancel()
    return response.status
  }
}

describe('SIGN_IN_HOST: host sessions end with their sign-in', () => {
  it('a handoff code minted before the victim signs out, held and spent after, opens no host session', async () => {
    const authority = probedAuthority()
    const home = instance({ ...HOSTS, REVOCATIONS: authority.namespace })
    const victim = new Browser(() => home)
    await victim.handOff(await victim.signInFor(uniqueEmail('held-code')))
    expect(await victim.status(APP)).toBe(200)

    // The thief has the victim's sign-in host cookie, and their own browser's handoff nonce.
    const thief = new Browser(() => home)
    thief.plant('gateway.test', '__Host-session', victim.cookie('gateway.test', '__Host-session')!)
    const held = await thief.handoffFor(`${APP}/reports`)

    // The victim signs out (of every host of this browser, the sign-in with them).
    const out = await victim.fetch(`${GATEWAY}/auth/logout`, json({}))
    expect(out.status).toBe(200)
    expect(await thief.status(GATEWAY)).toBe(401)

    await thief.handOff(held)
    const opened = thief.cookie('app.gateway.test', '__Host-session')
    expect(await thief.status(APP)).toBe(401)
    // No host session opened is as good. One that was must stay over past the ten minutes the
    // authority keeps an end (a fresh authority here): KV alone ends it then.
    if (opened === undefined) return
    authority.state.generation = `probe-${crypto.randomUUID()}`
    const later = instance({ ...HOSTS, REVOCATIONS: authority.namespace })
    const cookie = `__Host-session=${opened}`
    const answer = await later(`${APP}/auth/me`, {
      headers: { cookie, accept: 'application/json' },
    })
    expect(answer.status).toBe(401)
  })

  it('a host session handed off in another location ends there when its sign-in session ends, and its socket closes', async () => {
    const home = instance(HOSTS)
    const elsewhere = instance({
      ...HOSTS,
      SESSIONS: elsewhereKv,
      REVOCATION_BOUND_SECONDS: '1',
      WEBSOCKET_RECHECK_SECONDS: '60',
    })
    // The app host is served in another location; the sign-in host here.
    const browser = new Browser((host) => (host === 'app.gateway.test' ? elsewhere : home))
    const handoff = await browser.signInFor(uniqueEmail('host-elsewhere'))
    // KV carried the code there (written here, read there).
    const codeKey = await handoffCodeKey(handoff.code)
    await elsewhereKv.put(codeKey, (await homeKv.get(codeKey))!, { expirationTtl: 60 })
    expect((await browser.handOff(handoff)).status).toBe(303)
    expect(await browser.status(APP)).toBe(200)

    const hostCookie = `__Host-session=${browser.cookie('app.gateway.test', '__Host-session')}`
    const { response, settled } = await elsewhere.upgrade(`${APP}/__ws?id=${crypto.randomUUID()}`, {
      cookie: hostCookie,
    })
    const socket = socketOf(response)
    await sleep(300)

    // Sign-out on the sign-in host: this location's listing does not show the host session yet.
    const out = await browser.fetch(`${GATEWAY}/auth/logout`, json({}))
    expect(out.status).toBe(200)
    const signedOutAt = Date.now()
    await closedAfterEnd(socket, signedOutAt, 1000)
    await settled()
    await refusedAfter(elsewhere, hostCookie, `${APP}/auth/me`, signedOutAt, 1000 + 1500)
  })
})

const STRICT = JSON.stringify({
  routes: [
    { name: 'payments', path: '/payments/*', revocation: 'strict' },
    { name: 'sockets', path: '/__ws', revocation: 'strict' },
    { name: 'app', path: '/*' },
  ],
})

describe('amplification: who can make the gateway ask the authority', () => {
  it('an ended session’s cookie replayed at a strict route costs the authority nothing', async () => {
    const { cookie } = await signIn(uniqueEmail('replayed'))
    const authority = probedAuthority()
    const home = instance({ ACCESS: STRICT, REVOCATIONS: authority.namespace })
    const asJson = { cookie, accept: 'application/json' }
    expect((await home('/payments/pay', { headers: asJson })).status).toBe(200)
    expect((await home('/auth/logout', json({}, { cookie }))).status).toBe(200)

    const before = authority.count('changesSince')
    for (let i = 0; i < 20; i++)
      expect((await home('/payments/pay', { headers: asJson })).status).toBe(401)
    // At most the bounded refresh (once per REVOCATION_BOUND_SECONDS), never one per request.
    expect(authority.count('changesSince') - before).toBeLessThanOrEqual(1)
  })
})

async function serviceToken(home: Instance, name: string) {
  const created = await home(
    '/auth/admin/service-tokens',
    json({ name }, { authorization: `Bearer ${ADMIN_TOKEN}` }),
  )
  expect(created.status).toBe(201)
  const token = (await created.json()) as { id: string; clientId: string; clientSecret: string }
  const key = `service-token:${token.id}`
  await elsewhereKv.put(key, (await homeKv.get(key))!)
  return {
    ...token,
    headers: {
      'gateway-client-id': token.clientId,
      'gateway-client-secret': token.clientSecret,
      accept: 'application/json',
    },
  }
}

const revokeToken = (home: Instance, id: string) =>
  home(`/auth/admin/service-tokens/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  })

describe('WebSockets: the push reaches every open socket', () => {
  // The re-check runs once a minute: only the push can close a socket in time.
  const SLOW_RECHECK = { WEBSOCKET_RECHECK_SECONDS: '60' }

  it('a socket opened with a service token is closed within 1 s of its revocation in another instance', async () => {
    const home = instance()
    const token = await serviceToken(home, 'socket-bot')
    const access = JSON.stringify({
      routes: [{ name: 'api', path: '/*', allow: [{ serviceTokens: ['socket-bot'] }] }],
    })
    const elsewhere = instance({ SESSIONS: elsewhereKv, ACCESS: access, ...SLOW_RECHECK })
    const { response, settled } = await elsewhere.upgrade(
      `/__ws?id=${crypto.randomUUID()}`,
      token.headers,
    )
    const socket = socketOf(response)
    await sleep(300)
    expect((await revokeToken(home, token.id)).status).toBe(200)
    await closedAfterEnd(socket, Date.now(), 1000)
    await settled()
  })

  it('the authority restarts and drops every subscription: a socket is still closed within 1 s of its end', async () => {
    const authority = probedAuthority()
    const email = uniqueEmail('restart')
    const { cookie } = await signIn(email)
    await replicate(cookie)
    const home = instance({ REVOCATIONS: authority.namespace })
    const elsewhere = instance({
      SESSIONS: elsewhereKv,
      REVOCATIONS: authority.namespace,
      ...SLOW_RECHECK,
    })
    const { response, settled } = await elsewhere.upgrade(`/__ws?id=${crypto.randomUUID()}`, {
      cookie,
    })
    const socket = socketOf(response)
    await sleep(300)
    // The platform restarts the object (a deploy, a move): its WebSockets are closed.
    await runInDurableObject(authority.object(), async (_, state) => {
      for (const subscription of state.getWebSockets()) subscription.close(1012, 'restarting')
    })
    await sleep(300)

    expect((await admin(home, { email })).status).toBe(200)
    await closedAfterEnd(socket, Date.now(), 1000)
    await settled()
  })

  it('an end recorded between the upgrade’s decision and the subscription still closes the socket', async () => {
    const authority = probedAuthority()
    const email = uniqueEmail('between')
    const { cookie } = await signIn(email)
    await replicate(cookie)
    const home = instance({ REVOCATIONS: authority.namespace })
    const elsewhere = instance({
      SESSIONS: elsewhereKv,
      REVOCATIONS: authority.namespace,
      ...SLOW_RECHECK,
    })
    expect((await elsewhere('/x', { headers: { cookie } })).status).toBe(200)
    authority.state.subscribeDelayMs = 500
    const { response, settled } = await elsewhere.upgrade(`/__ws?id=${crypto.randomUUID()}`, {
      cookie,
    })
    const socket = socketOf(response)
    // Decided and answered 101; the subscription is still on its way.
    expect((await admin(home, { email })).status).toBe(200)
    await closedAfterEnd(socket, Date.now(), 1500)
    await settled()
  })

  it('a socket that cannot subscribe (authority unreachable) is not left open without a push', async () => {
    const authority = probedAuthority()
    const { cookie } = await signIn(uniqueEmail('unsubscribed'))
    const gateway = instance({ REVOCATIONS: authority.namespace, ...SLOW_RECHECK })
    // The view is fresh: the upgrade itself is decided without the authority.
    expect((await gateway('/x', { headers: { cookie } })).status).toBe(200)
    authority.state.mode = 'down'
    const { response, settled } = await gateway.upgrade(`/__ws?id=${crypto.randomUUID()}`, {
      cookie,
    })
    const socket = socketOf(response)
    // Closed as "try again later" (1013): no end could reach it, so it may not stay open.
    expect(await socket.closedWithin(3000)).toMatchObject({ code: 1013 })
    authority.state.mode = 'up'
    await settled()
  })

  it('an upgrade on a strict route is refused on the very next attempt after an end elsewhere', async () => {
    const email = uniqueEmail('strict-socket')
    const { cookie } = await signIn(email)
    await replicate(cookie)
    const elsewhere = instance({
      SESSIONS: elsewhereKv,
      ACCESS: STRICT,
      REVOCATION_BOUND_SECONDS: '60',
    })
    expect((await elsewhere('/x', { headers: { cookie } })).status).toBe(200)
    expect((await admin(instance(), { email })).status).toBe(200)
    const { response, settled } = await elsewhere.upgrade(`/__ws?id=${crypto.randomUUID()}`, {
      cookie,
    })
    expect(response.status).toBe(401)
    await settled()
  })
})

// Every way a grant ends, enforced in instance B (bound 1 s) while B's KV still serves it.

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`

async function organization() {
  const domain = `corp-${unique()}.test`
  const response = await fetch(
    `${EMULATOR}/__organizations`,
    json({ name: `Corp ${domain}`, domains: [domain] }),
  )
  expect(response.status).toBe(201)
  const { id, connectionId } = (await response.json()) as { id: string; connectionId: string }
  return { id, connectionId, domain }
}

/** A real SSO sign-in through the emulator's IdP page; the session cookie (instance A's KV). */
async function ssoSignIn(email: string, groups = '') {
  const asked = await gateway('/auth/magic-auth', json({ email }))
  expect(asked.status).toBe(403)
  const { redirect } = (await asked.json()) as { redirect: string }
  const toIdp = await fetch(redirect, { redirect: 'manual' })
  const page = new URL(toIdp.headers.get('location')!, redirect)
  const back = await fetch(page, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, role: 'member', groups, decision: 'allow' }),
  })
  const done = await gateway(pathOf(back.headers.get('location')!))
  const cookie = sessionCookieFrom(done)
  if (!cookie) throw new Error(`callback answered ${done.status} without a session`)
  return cookie
}

interface Delivery {
  id: string
  body: string
  signature: string
}

/** Delivers a signed WorkOS event to instance A, as WorkOS would. */
async function deliver(delivery: Delivery) {
  const response = await gateway('/auth/webhooks/workos', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'workos-signature': delivery.signature },
    body: delivery.body,
  })
  await response.body?.cancel()
  return response
}

const signed = async (event: string, data: Record<string, unknown>) =>
  (await (await fetch(`${EMULATOR}/__webhooks/sign`, json({ event, data }))).json()) as Delivery

/** Calls an emulator control route and delivers the event it emitted. */
async function emittedAndDelivered(path: string, event: string, init: RequestInit = {}) {
  const answer = await fetch(`${EMULATOR}${path}`, { method: 'POST', ...init })
  expect(answer.ok).toBe(true)
  const { eventId } = (await answer.json()) as { eventId: string }
  const { deliveries } = (await (
    await fetch(`${EMULATOR}/__webhooks?event=${encodeURIComponent(event)}`)
  ).json()) as { deliveries: Delivery[] }
  return deliver(deliveries.find((d) => d.id === eventId)!)
}

async function userIdOf(cookie: string) {
  const me = await gateway('/auth/me', { headers: { cookie } })
  return ((await me.json()) as { user: { id: string } }).user.id
}

/** Each end made in instance A; the session it ends must be refused in B within the bound. */
async function enforcedElsewhere(ends: [string, string, () => Promise<Response>][]) {
  const elsewhere = instance({ SESSIONS: elsewhereKv, REVOCATION_BOUND_SECONDS: '1' })
  for (const [, cookie] of ends) {
    await replicate(cookie)
    expect((await elsewhere('/x', { headers: { cookie } })).status).toBe(200)
  }
  for (const [what, cookie, end] of ends) {
    const answer = await end()
    expect(answer.status, what).toBeLessThan(400)
    const lagMs = await refusedAfter(elsewhere, cookie, '/x', Date.now(), 1000 + 1500).catch(
      (error: Error) => `${what}: ${error.message}`,
    )
    expect(typeof lagMs === 'number' ? 'refused' : lagMs, what).toBe('refused')
    // B's KV still holds the session: the authority alone ended it there.
    expect(await elsewhereKv.get(await sessionKvKeyOf(cookie)), what).not.toBeNull()
  }
}

describe('every kind of end reaches the other instance within the bound', () => {
  it('a person’s own ends, an operator’s and WorkOS’s user events', async () => {
    const home = instance()
    const signOut = await signIn(uniqueEmail('k-signout'))
    const pageEmail = uniqueEmail('k-page')
    const ended = await signIn(pageEmail)
    const ender = await signIn(pageEmail)
    const everywhereEmail = uniqueEmail('k-everywhere')
    const other = await signIn(everywhereEmail)
    const everywhere = await signIn(everywhereEmail)
    const byEmail = await signIn(uniqueEmail('k-admin'))
    const byId = await signInWithCode(uniqueEmail('k-admin-id'))
    const deleted = await signInWithCode(uniqueEmail('k-deleted'))
    const renamed = await signInWithCode(uniqueEmail('k-renamed'))

    const listed = await home('/auth/sessions', {
      headers: { cookie: ender.cookie, accept: 'application/json' },
    })
    const { sessions } = (await listed.json()) as { sessions: { sid: string; current: boolean }[] }
    const endedSid = sessions.find((session) => !session.current)!.sid

    await enforcedElsewhere([
      [
        'sign-out',
        signOut.cookie,
        () => home('/auth/logout', json({}, { cookie: signOut.cookie })),
      ],
      [
        'one session ended from the sessions page',
        ended.cookie,
        () =>
          home(
            `/auth/sessions/${endedSid}/revoke`,
            json({}, { cookie: ender.cookie, origin: GATEWAY }),
          ),
      ],
      [
        'sign out everywhere',
        other.cookie,
        () => home('/auth/logout', json({ everywhere: true }, { cookie: everywhere.cookie })),
      ],
      ['admin revocation by email', byEmail.cookie, () => admin(home, { email: byEmail.email })],
      [
        'admin revocation by user id',
        byId.cookie,
        async () => admin(home, { userId: await userIdOf(byId.cookie) }),
      ],
      [
        'user.deleted',
        deleted.cookie,
        async () =>
          deliver(
            await signed('user.deleted', {
              id: await userIdOf(deleted.cookie),
              email: deleted.email,
            }),
          ),
      ],
      [
        'user.updated with a new email',
        renamed.cookie,
        async () =>
          deliver(
            await signed('user.updated', {
              id: await userIdOf(renamed.cookie),
              email: uniqueEmail('k-renamed-to'),
            }),
          ),
      ],
    ])
  })

  it('a tenant’s IdP and directory: memberships, directory users and groups, SSO connections', async () => {
    const memberships = await organization()
    const gone = `gone@${memberships.domain}`
    const inactive = `inactive@${memberships.domain}`
    const goneCookie = await ssoSignIn(gone)
    const inactiveCookie = await ssoSignIn(inactive)
    const directory = await organization()
    const dsyncUser = `dsync@${directory.domain}`
    const dsyncCookie = await ssoSignIn(dsyncUser)
    const groups = await organization()
    const grouped = `grouped@${groups.domain}`
    const groupedCookie = await ssoSignIn(grouped, 'ops')
    const connection = await organization()
    const connectionCookie = await ssoSignIn(`conn@${connection.domain}`)
    const membershipPath = (email: string) =>
      `/__organizations/${memberships.id}/memberships/${encodeURIComponent(email)}`

    await enforcedElsewhere([
      [
        'organization_membership.deleted',
        goneCookie,
        () =>
          emittedAndDelivered(membershipPath(gone), 'organization_membership.deleted', {
            method: 'DELETE',
          }),
      ],
      [
        'organization_membership.updated (no longer active)',
        inactiveCookie,
        async () => {
          const put = await fetch(`${EMULATOR}${membershipPath(inactive)}`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ role: 'member' }),
          })
          const { membership } = (await put.json()) as { membership: Record<string, unknown> }
          return deliver(
            await signed('organization_membership.updated', { ...membership, status: 'inactive' }),
          )
        },
      ],
      [
        'dsync.user.deleted',
        dsyncCookie,
        () =>
          emittedAndDelivered(
            `/__directory/users/${encodeURIComponent(dsyncUser)}/delete`,
            'dsync.user.deleted',
            { headers: { 'content-type': 'application/json' }, body: '{}' },
          ),
      ],
      [
        'dsync.group.user_removed',
        groupedCookie,
        () =>
          emittedAndDelivered('/__directory/groups/ops/remove', 'dsync.group.user_removed', {
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: grouped }),
          }),
      ],
      [
        'connection.deactivated',
        connectionCookie,
        () =>
          emittedAndDelivered(
            `/__connections/${connection.connectionId}/deactivate`,
            'connection.deactivated',
          ),
      ],
    ])
  })
})

describe('a strict route reached another way', () => {
  const FORWARD_AUTH = {
    'x-forward-auth-token': 'test-forward-auth-token-0123456789-abcdef',
    'x-forwarded-method': 'GET',
    'x-forwarded-uri': '/payments/pay',
    accept: 'application/json',
  }
  const ORDERS = JSON.stringify({
    routes: [
      { name: 'cancel', path: '/orders/*', methods: ['DELETE'], revocation: 'strict' },
      { name: 'orders', path: '/orders/*', methods: ['GET', 'POST'] },
      { name: 'payments', path: '/payments/*', revocation: 'strict' },
      { name: 'app', path: '/*' },
    ],
  })

  /** A session ended in instance A, still served by B's KV; B's view was read just before. */
  async function endedElsewhere(label: string) {
    const email = uniqueEmail(label)
    const { cookie } = await signIn(email)
    await replicate(cookie)
    const elsewhere = instance({
      SESSIONS: elsewhereKv,
      ACCESS: ORDERS,
      REVOCATION_BOUND_SECONDS: '60',
    })
    expect((await elsewhere('/home', { headers: { cookie } })).status).toBe(200)
    expect((await admin(instance(), { email })).status).toBe(200)
    // Within the bound B's bounded routes still serve it: only the authority knows.
    expect((await elsewhere('/home', { headers: { cookie } })).status).toBe(200)
    return { cookie, elsewhere }
  }

  it('forward-auth asked about a strict route reads the authority: the ended session is refused', async () => {
    const { cookie, elsewhere } = await endedElsewhere('fa-strict')
    const verdict = await elsewhere('/auth/verify', { headers: { ...FORWARD_AUTH, cookie } })
    expect(verdict.status).toBe(401)
  })

  it('HEAD on a strict route is as strict as GET', async () => {
    const { cookie, elsewhere } = await endedElsewhere('head-strict')
    const head = await elsewhere('/payments/pay', {
      method: 'HEAD',
      headers: { cookie, accept: 'application/json' },
    })
    expect(head.status).toBe(401)
  })

  it('a POST with _method=DELETE on the bounded route never reaches the strict one’s origin', async () => {
    const { cookie, elsewhere } = await endedElsewhere('override-strict')
    const asForm = await elsewhere('/orders/7', {
      method: 'POST',
      headers: {
        cookie,
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: '_method=DELETE',
    })
    const inQuery = await elsewhere('/orders/7?_method=DELETE', {
      method: 'POST',
      headers: { cookie, accept: 'application/json' },
    })
    for (const answer of [asForm, inQuery]) {
      expect(answer.status).toBe(400)
      expect(await answer.json()).toMatchObject({ error: 'method_override_refused' })
    }
    // The method itself, sent as DELETE, is decided by the strict route.
    const asked = await elsewhere('/orders/7', {
      method: 'DELETE',
      headers: { cookie, accept: 'application/json' },
    })
    expect(asked.status).toBe(401)
  })
})

describe('an unreachable authority fails closed on every path', () => {
  const FORWARD_AUTH = {
    'x-forward-auth-token': 'test-forward-auth-token-0123456789-abcdef',
    'x-forwarded-method': 'GET',
    accept: 'application/json',
  }

  it.each(['down', 'hanging'] as const)(
    'forward-auth, the sessions page and a strict route answer 503 with the authority %s',
    async (mode) => {
      const { cookie } = await signIn(uniqueEmail(`fail-${mode}`))
      const authority = probedAuthority()
      const gateway = instance({
        ACCESS: STRICT,
        REVOCATION_BOUND_SECONDS: '1',
        REVOCATIONS: authority.namespace,
      })
      const asJson = { cookie, accept: 'application/json' }
      expect((await gateway('/home', { headers: asJson })).status).toBe(200)
      const readAt = Date.now()
      authority.state.mode = mode
      const strictVerdict = await gateway('/auth/verify', {
        headers: { ...FORWARD_AUTH, 'x-forwarded-uri': '/payments/pay', cookie },
      })
      expect(strictVerdict.status).toBe(503)
      await sleep(Math.max(0, readAt + 2100 - Date.now()))
      // Past twice the bound: nothing is decided on KV alone.
      for (const answer of [
        await gateway('/auth/verify', {
          headers: { ...FORWARD_AUTH, 'x-forwarded-uri': '/home', cookie },
        }),
        await gateway('/auth/sessions', { headers: asJson }),
        await gateway('/home', { headers: asJson }),
      ]) {
        expect(answer.status).toBe(503)
        expect(await answer.json()).toMatchObject({ error: 'revocation_unavailable' })
      }
      authority.state.mode = 'up'
    },
  )

  it('ending one session, revoking a person or a service token with the authority down: 503, and each ends anyway', async () => {
    const authority = probedAuthority()
    const home = instance({ REVOCATIONS: authority.namespace })
    const pageEmail = uniqueEmail('down-page')
    const ended = await signIn(pageEmail)
    const ender = await signIn(pageEmail)
    const revoked = await signIn(uniqueEmail('down-admin'))
    const token = await serviceToken(home, 'down-bot')
    const machineAccess = JSON.stringify({
      routes: [{ name: 'api', path: '/*', allow: [{ serviceTokens: ['down-bot'] }] }],
    })
    const listed = await home('/auth/sessions', {
      headers: { cookie: ender.cookie, accept: 'application/json' },
    })
    const { sessions } = (await listed.json()) as { sessions: { sid: string; current: boolean }[] }
    const sid = sessions.find((session) => !session.current)!.sid

    authority.state.mode = 'down'
    const answers = [
      await home(
        `/auth/sessions/${sid}/revoke`,
        json({}, { cookie: ender.cookie, origin: GATEWAY }),
      ),
      await admin(home, { email: revoked.email }),
      await revokeToken(home, token.id),
    ]
    for (const answer of answers) {
      expect(answer.status).toBe(503)
      expect(await answer.json()).toMatchObject({ error: 'revocation_unavailable' })
    }
    authority.state.mode = 'up'
    const machines = instance({ ACCESS: machineAccess, REVOCATIONS: authority.namespace })
    expect(
      (await home('/x', { headers: { cookie: ended.cookie, accept: 'application/json' } })).status,
    ).toBe(401)
    expect(
      (await home('/x', { headers: { cookie: revoked.cookie, accept: 'application/json' } }))
        .status,
    ).toBe(401)
    expect((await machines('/api', { headers: token.headers })).status).toBe(401)
  })
})

describe('the Events API reader (Cron Trigger)', () => {
  it('an internet client cannot run it: GET /__scheduled and the job’s own path are not the job', async () => {
    const authority = probedAuthority()
    const deployed = instance({ ...(await productionSettings()), REVOCATIONS: authority.namespace })
    for (const [path, init] of [
      ['/__scheduled', {}],
      ['/__scheduled?cron=*+*+*+*+*', {}],
      ['/events', { method: 'POST' }],
    ] as const) {
      const answer = await deployed(path, { ...init, headers: { accept: 'application/json' } })
      await answer.body?.cancel()
      expect(answer.status, path).toBe(401)
    }
    // The job starts by asking the authority where it left off: it never did.
    expect(authority.count('eventsCursor')).toBe(0)
  })
})

describe('the view’s logic', () => {
  it('sign out everywhere ends the sessions made before it, not the one made just after', async () => {
    const email = uniqueEmail('after')
    const before = await signIn(email)
    await replicate(before.cookie)
    const elsewhere = instance({ SESSIONS: elsewhereKv, REVOCATION_BOUND_SECONDS: '1' })
    expect(
      (await instance()('/auth/logout', json({ everywhere: true }, { cookie: before.cookie })))
        .status,
    ).toBe(200)
    const after = await signIn(email)
    await replicate(after.cookie)
    await refusedAfter(elsewhere, before.cookie, '/x', Date.now(), 2500)
    expect((await elsewhere('/x', { headers: { cookie: after.cookie } })).status).toBe(200)
  })

  it('a forged or unknown service token at a strict route costs the authority nothing', async () => {
    const authority = probedAuthority()
    const access = JSON.stringify({
      routes: [
        { name: 'api', path: '/*', revocation: 'strict', allow: [{ serviceTokens: ['x'] }] },
      ],
    })
    const gateway = instance({ ACCESS: access, REVOCATIONS: authority.namespace })
    // The first request of an isolate reads its view once; none after it does.
    for (let i = 0; i < 5; i++) {
      const answer = await gateway('/api', {
        headers: {
          'gateway-client-id': `cid_${'A'.repeat(19)}${i}`,
          'gateway-client-secret': 'B'.repeat(43),
          'cf-connecting-ip': `198.18.7.${i + 1}`,
          accept: 'application/json',
        },
      })
      expect(answer.status).toBe(401)
    }
    expect(authority.count('changesSince')).toBeLessThanOrEqual(1)
  })
})
