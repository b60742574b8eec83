import { env } from 'cloudflare:workers'
import { createExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { compileAccess } from '../src/access/index.ts'
import { ConfigError, parseConfig } from '../src/config'
import worker from '../src/index'
import { ADMIN_TOKEN, GATEWAY, json, signIn, uniqueEmail } from './helpers'
import {
  elsewhereKv,
  instance,
  probedAuthority,
  refusedAfter,
  replicate,
  closedAfterEnd,
  sleep,
  socketOf,
} from './two-instances'

// Revocation in seconds everywhere (README "Revocation"): two gateway instances that share no KV,
// only the revocation authority. An end recorded through one is enforced by the other within
// REVOCATION_BOUND_SECONDS, while the other's KV still serves the session as live.

const bindings = env as unknown as Record<string, unknown>

const ACCESS = JSON.stringify({
  routes: [
    { name: 'payments', path: '/payments/*', revocation: 'strict' },
    { name: 'app', path: '/*' },
  ],
})

const adminRevoke = (email: string) =>
  worker.fetch(
    new Request(
      `${GATEWAY}/auth/admin/revoke`,
      json({ email }, { authorization: `Bearer ${ADMIN_TOKEN}` }),
    ),
    env,
    createExecutionContext(),
  )

describe('an end recorded in one instance', () => {
  it('is enforced in another whose KV still serves the session, within the bound', async () => {
    const email = uniqueEmail('elsewhere')
    const { cookie } = await signIn(email)
    const key = await replicate(cookie)
    const elsewhere = instance({ SESSIONS: elsewhereKv, REVOCATION_BOUND_SECONDS: '2' })
    expect((await elsewhere('/dashboard', { headers: { cookie } })).status).toBe(200)

    expect((await adminRevoke(email)).status).toBe(200)
    const endedAt = Date.now()
    const lagMs = await refusedAfter(elsewhere, cookie, '/dashboard', endedAt, 6000)
    console.log(JSON.stringify({ revocationLagMs: lagMs, boundSeconds: 2 }))
    expect(lagMs).toBeLessThanOrEqual(2000 + 500)
    // Through the authority alone: the other instance's KV has no end marker and the record.
    expect(await elsewhereKv.get(key)).not.toBeNull()
    expect((await elsewhereKv.list({ prefix: 'revoked:' })).keys).toEqual([])
  })

  it('one session signed out: that session ends elsewhere, the person’s other sessions do not', async () => {
    const email = uniqueEmail('one')
    const laptop = await signIn(email)
    const phone = await signIn(email)
    await replicate(laptop.cookie)
    await replicate(phone.cookie)
    const elsewhere = instance({ SESSIONS: elsewhereKv, REVOCATION_BOUND_SECONDS: '1' })
    expect((await elsewhere('/x', { headers: { cookie: laptop.cookie } })).status).toBe(200)

    const out = await worker.fetch(
      new Request(`${GATEWAY}/auth/logout`, json({}, { cookie: laptop.cookie })),
      env,
      createExecutionContext(),
    )
    expect(out.status).toBe(200)
    await refusedAfter(elsewhere, laptop.cookie, '/x', Date.now(), 4000)
    expect((await elsewhere('/x', { headers: { cookie: phone.cookie } })).status).toBe(200)
  })

  it('a strict route refuses on the very next request; a bounded one may still serve', async () => {
    const email = uniqueEmail('strict')
    const { cookie } = await signIn(email)
    await replicate(cookie)
    const elsewhere = instance({
      SESSIONS: elsewhereKv,
      ACCESS,
      REVOCATION_BOUND_SECONDS: '60',
    })
    expect((await elsewhere('/payments/pay', { headers: { cookie } })).status).toBe(200)
    expect((await elsewhere('/home', { headers: { cookie } })).status).toBe(200)

    expect((await adminRevoke(email)).status).toBe(200)
    const strict = await elsewhere('/payments/pay', {
      headers: { cookie, accept: 'application/json' },
    })
    expect(strict.status).toBe(401)
    // A bounded route's view was read just now by the strict request: it knows too. Another
    // instance that has not read since serves until its bound (60 s here) passes.
    const other = instance({ SESSIONS: elsewhereKv, ACCESS, REVOCATION_BOUND_SECONDS: '60' })
    const { cookie: second } = await signIn(uniqueEmail('strict-second'))
    await replicate(second)
    expect((await other('/home', { headers: { cookie: second } })).status).toBe(200)
    expect((await other('/home', { headers: { cookie } })).status).toBe(401)
  })

  it('a revoked service token is refused elsewhere within the bound', async () => {
    const created = await worker.fetch(
      new Request(
        `${GATEWAY}/auth/admin/service-tokens`,
        json({ name: 'ci-elsewhere' }, { authorization: `Bearer ${ADMIN_TOKEN}` }),
      ),
      env,
      createExecutionContext(),
    )
    expect(created.status).toBe(201)
    const token = (await created.json()) as { id: string; clientId: string; clientSecret: string }
    const record = await (bindings.SESSIONS as KVNamespace).get(`service-token:${token.id}`)
    await elsewhereKv.put(`service-token:${token.id}`, record!)
    const machine = {
      'gateway-client-id': token.clientId,
      'gateway-client-secret': token.clientSecret,
      accept: 'application/json',
    }
    const access = JSON.stringify({
      routes: [{ name: 'api', path: '/*', allow: [{ serviceTokens: ['ci-elsewhere'] }] }],
    })
    const elsewhere = instance({
      SESSIONS: elsewhereKv,
      ACCESS: access,
      REVOCATION_BOUND_SECONDS: '1',
    })
    expect((await elsewhere('/api', { headers: machine })).status).toBe(200)

    const revoked = await worker.fetch(
      new Request(`${GATEWAY}/auth/admin/service-tokens/${token.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      }),
      env,
      createExecutionContext(),
    )
    expect(revoked.status).toBe(200)
    const endedAt = Date.now()
    let status = 200
    while (status === 200 && Date.now() - endedAt < 3000) {
      await sleep(50)
      status = (await elsewhere('/api', { headers: machine })).status
    }
    expect(status).toBe(401)
    expect(Date.now() - endedAt).toBeLessThanOrEqual(1500)
    expect(await elsewhereKv.get(`service-token:${token.id}`)).not.toBeNull()
  })
})

describe('an unreachable authority', () => {
  it('a bounded route serves from a view up to twice the bound old, then 503; a strict one 503 at once', async () => {
    const { cookie } = await signIn(uniqueEmail('down'))
    const authority = probedAuthority()
    const gateway = instance({
      ACCESS,
      REVOCATION_BOUND_SECONDS: '1',
      REVOCATIONS: authority.namespace,
    })
    const json = { cookie, accept: 'application/json' }
    expect((await gateway('/home', { headers: json })).status).toBe(200)
    const readAt = Date.now()

    authority.state.mode = 'down'
    // Without a session, or with a forged cookie, nothing is asked of the authority: no 503.
    expect(
      (await gateway('/payments/pay', { headers: { accept: 'application/json' } })).status,
    ).toBe(401)
    const forged = `${cookie.slice(0, -4)}AAAA`
    expect((await gateway('/payments/pay', { headers: { ...json, cookie: forged } })).status).toBe(
      401,
    )
    const strict = await gateway('/payments/pay', { headers: json })
    expect(strict.status).toBe(503)
    expect(await strict.json()).toMatchObject({ error: 'revocation_unavailable' })
    expect(strict.headers.get('retry-after')).toBeTruthy()

    await sleep(Math.max(0, readAt + 1200 - Date.now()))
    // Older than the bound, younger than twice it: served, and the read is tried again.
    expect((await gateway('/home', { headers: json })).status).toBe(200)
    await sleep(Math.max(0, readAt + 2200 - Date.now()))
    const stale = await gateway('/home', { headers: json })
    expect(stale.status).toBe(503)
    expect(await stale.json()).toMatchObject({ error: 'revocation_unavailable' })

    authority.state.mode = 'up'
    expect((await gateway('/home', { headers: json })).status).toBe(200)
  })

  it('an end it cannot record is not acknowledged: 503, and KV still ends the session', async () => {
    const email = uniqueEmail('unrecorded')
    const { cookie } = await signIn(email)
    const authority = probedAuthority()
    const gateway = instance({ REVOCATIONS: authority.namespace })
    authority.state.mode = 'down'
    const revoked = await gateway(
      '/auth/admin/revoke',
      json({ email }, { authorization: `Bearer ${ADMIN_TOKEN}` }),
    )
    expect(revoked.status).toBe(503)
    expect(await revoked.json()).toMatchObject({ error: 'revocation_unavailable' })
    // Asked again once the authority answers, it is recorded and acknowledged.
    authority.state.mode = 'up'
    const again = await gateway(
      '/auth/admin/revoke',
      json({ email }, { authorization: `Bearer ${ADMIN_TOKEN}` }),
    )
    expect(again.status).toBe(200)
    expect((await gateway('/x', { headers: { cookie, accept: 'application/json' } })).status).toBe(
      401,
    )
  })
})

describe('a WebSocket', () => {
  it('is closed (1008) within 1 s of sign out everywhere in another instance, pushed, not polled', async () => {
    const email = uniqueEmail('socket')
    const laptop = await signIn(email)
    await replicate(laptop.cookie)
    // The re-check runs once a minute: only the push can close it in time.
    const elsewhere = instance({ SESSIONS: elsewhereKv, WEBSOCKET_RECHECK_SECONDS: '60' })
    const { response, settled } = await elsewhere.upgrade(`/__ws?id=${crypto.randomUUID()}`, {
      cookie: laptop.cookie,
    })
    const socket = socketOf(response)
    // Subscribed once the relay is up (it subscribes in the background after the 101).
    await sleep(300)
    expect((await elsewhere('/x', { headers: { cookie: laptop.cookie } })).status).toBe(200)

    const out = await worker.fetch(
      new Request(`${GATEWAY}/auth/logout`, json({ everywhere: true }, { cookie: laptop.cookie })),
      env,
      createExecutionContext(),
    )
    expect(out.status).toBe(200)
    const closed = await closedAfterEnd(socket, Date.now(), 1000)
    expect(closed).toMatchObject({ reason: 'session ended' })
    await settled()
  })
})

describe('settings', () => {
  const problemsWith = (overrides: Record<string, unknown>) => {
    try {
      parseConfig({ ...env, ...overrides })
      return []
    } catch (error) {
      if (error instanceof ConfigError) return error.problems
      throw error
    }
  }

  it('REVOCATION_BOUND_SECONDS is 5 by default, a whole number from 1 to 60', () => {
    expect(parseConfig({ ...env }).revocationBoundSeconds).toBe(5)
    expect(parseConfig({ ...env, REVOCATION_BOUND_SECONDS: '60' }).revocationBoundSeconds).toBe(60)
    for (const bad of ['0', '61', '2.5', 'soon'])
      expect(problemsWith({ REVOCATION_BOUND_SECONDS: bad })).toEqual([
        {
          variable: 'REVOCATION_BOUND_SECONDS',
          problem: 'must be a whole number of seconds from 1 to 60',
        },
      ])
  })

  it('the authority binding is required: without it no grant could be checked', () => {
    expect(problemsWith({ REVOCATIONS: undefined }).map((p) => p.variable)).toEqual(['REVOCATIONS'])
  })

  it('a route’s "revocation" is "strict" or "bounded", and never strict on a public route', () => {
    const route = (extra: Record<string, unknown>) =>
      compileAccess({ routes: [{ name: 'r', path: '/*', ...extra }] })
    expect(route({ revocation: 'strict' })).toMatchObject({ ok: true })
    expect(route({ revocation: 'bounded' })).toMatchObject({ ok: true })
    expect(route({ revocation: 'sometimes' })).toMatchObject({
      ok: false,
      problems: ['routes[0] (r).revocation: must be "strict" or "bounded"'],
    })
    expect(route({ revocation: 'strict', public: true })).toMatchObject({ ok: false })
  })
})
