import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { sha256 } from '../src/crypto'
import {
  gateway,
  gatewayWith,
  json,
  latestLink,
  openLink,
  pathOf,
  sessionCookieFrom,
  signIn,
  uniqueEmail,
  countingKv,
} from './helpers'

const kv = env.SESSIONS

function idOf(cookie: string): string {
  return cookie.slice('__Host-session='.length).split('.')[0]!
}

/** A thin wrapper around the real KV binding that counts what the gateway does with it. */

describe('sessions in KV', () => {
  it('keys the session by the SHA-256 of its id; the id itself is stored nowhere', async () => {
    const { cookie, email } = await signIn()
    const id = idOf(cookie)
    const stored = await kv.get(`session:${await sha256(id)}`, 'text')
    expect(stored).not.toBeNull()
    expect(stored).not.toContain(id)
    expect(JSON.parse(stored!)).toMatchObject({ v: 1, email, method: 'magic_link' })
    expect(await kv.get(`session:${id}`)).toBeNull()
    const { keys } = await kv.list({ prefix: 'session:' })
    expect(keys.some((key) => key.name.includes(id))).toBe(false)
  })

  it('stores the session until its idle end, and its index entry until the absolute end', async () => {
    const { cookie, email } = await signIn()
    const handle = await sha256(idOf(cookie))
    const secondsLeft = async (prefix: string) => {
      const { keys } = await kv.list({ prefix })
      return keys[0]!.expiration! - Date.now() / 1000
    }
    const idle = await secondsLeft(`session:${handle}`)
    expect(idle).toBeGreaterThan(86400 - 120)
    expect(idle).toBeLessThanOrEqual(86400 + 5)
    const absolute = await secondsLeft(`person:${await sha256(email)}:${handle}`)
    expect(absolute).toBeGreaterThan(604800 - 120)
    expect(absolute).toBeLessThanOrEqual(604800 + 5)
  })

  it('costs one KV read and no write on a protected request', async () => {
    const { cookie } = await signIn()
    const { counts, binding } = countingKv()
    const response = await gatewayWith({ SESSIONS: binding }, '/protected', { headers: { cookie } })
    expect(response.status).toBe(200)
    expect(counts).toEqual({ get: 1, put: 0, delete: 0, list: 0 })
  })

  it('with SESSION_CACHE_SECONDS, an isolate reads a session from KV once, then from memory', async () => {
    const { cookie } = await signIn()
    const { counts, binding } = countingKv()
    const settings = { SESSIONS: binding, SESSION_CACHE_SECONDS: '5' }
    for (let i = 0; i < 5; i++) {
      expect((await gatewayWith(settings, '/x', { headers: { cookie } })).status).toBe(200)
    }
    expect(counts.get).toBe(1)
    // A sign-out in this isolate takes effect at once, cache or not.
    expect((await gatewayWith(settings, '/auth/logout', json({}, { cookie }))).status).toBe(200)
    expect((await gatewayWith(settings, '/x', { headers: { cookie } })).status).toBe(401)
  })

  it('a session deleted elsewhere is honoured here for at most SESSION_CACHE_SECONDS', async () => {
    const { cookie } = await signIn()
    const settings = { SESSION_CACHE_SECONDS: '1' }
    expect((await gatewayWith(settings, '/x', { headers: { cookie } })).status).toBe(200)
    // Another isolate revokes it: the KV entry goes, this isolate's memory does not know yet.
    await kv.delete(`session:${await sha256(idOf(cookie))}`)
    expect((await gatewayWith(settings, '/x', { headers: { cookie } })).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect((await gatewayWith(settings, '/x', { headers: { cookie } })).status).toBe(401)
  })

  it('spends no KV read on a cookie whose signature fails', async () => {
    const { cookie } = await signIn()
    const { counts, binding } = countingKv()
    const tampered = cookie.slice(0, -2) + (cookie.endsWith('A') ? 'BB' : 'AA')
    const response = await gatewayWith({ SESSIONS: binding }, '/protected', {
      headers: { cookie: tampered },
    })
    expect(response.status).toBe(401)
    expect(counts.get).toBe(0)
  })

  it('gives a new id at every sign-in and ends the previous session of that browser', async () => {
    const email = uniqueEmail()
    const first = await signIn(email)
    await gateway('/auth/magic-link', json({ email }))
    const callback = pathOf(await openLink(await latestLink(email)))
    const second = await gateway(callback, { headers: { cookie: first.cookie } })
    const secondCookie = sessionCookieFrom(second)!
    expect(idOf(secondCookie)).not.toBe(idOf(first.cookie))
    expect((await gateway('/auth/me', { headers: { cookie: first.cookie } })).status).toBe(401)
    expect((await gateway('/auth/me', { headers: { cookie: secondCookie } })).status).toBe(200)
  })

  it('never adopts an id the browser brought (fixation)', async () => {
    const planted = '__Host-session=' + ['A', 'C', 'B'].map((ch) => ch.repeat(43)).join('.')
    const email = uniqueEmail()
    await gateway('/auth/magic-link', json({ email }))
    const response = await gateway(pathOf(await openLink(await latestLink(email))), {
      headers: { cookie: planted },
    })
    const issued = sessionCookieFrom(response)!
    expect(idOf(issued)).not.toBe('A'.repeat(43))
  })
})

describe('the session cookie', () => {
  it.each([
    ['a changed id', (c: string) => c.replace(/=(.)/, (_, ch) => `=${ch === 'a' ? 'b' : 'a'}`)],
    ['a changed signature', (c: string) => c.slice(0, -1) + (c.endsWith('x') ? 'y' : 'x')],
    ['no signature', (c: string) => c.split('.')[0]!],
    ['garbage', () => '__Host-session=%%%not-a-cookie'],
    ['an empty value', () => '__Host-session='],
    ['a huge value', () => `__Host-session=${'a'.repeat(8000)}`],
  ])('refuses %s: 401 JSON, and the cookie is cleared', async (_, tamper) => {
    const { cookie } = await signIn()
    const response = await gateway('/api/data', { headers: { cookie: tamper(cookie) } })
    expect(response.status).toBe(401)
    const body = (await response.json()) as { error: string }
    expect(['invalid_session_cookie', 'not_signed_in']).toContain(body.error)
    if (body.error === 'invalid_session_cookie') {
      const cleared = response.headers.getSetCookie().find((h) => h.startsWith('__Host-session='))
      expect(cleared).toMatch(/Max-Age=0/)
    }
  })

  it('sends a browser with a tampered cookie to the sign-in page', async () => {
    const { cookie } = await signIn()
    const response = await gateway('/page', {
      headers: {
        cookie: cookie.slice(0, -1) + (cookie.endsWith('_') ? '-' : '_'),
        accept: 'text/html',
      },
    })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('/auth/login?returnTo=%2Fpage')
  })

  it('keeps working across a secret rotation: old secret second, new first', async () => {
    const oldSecret = 'test-session-secret-0123456789-abcdefghij'
    const newSecret = 'a-brand-new-secret-for-rotation-0123456789'
    const { cookie } = await signIn() // signed with the test default (oldSecret)
    const rotated = { SESSION_SECRET: `${newSecret},${oldSecret}` }
    expect((await gatewayWith(rotated, '/auth/me', { headers: { cookie } })).status).toBe(200)
    // Once the old secret is removed, cookies it signed stop working.
    const dropped = { SESSION_SECRET: newSecret }
    expect((await gatewayWith(dropped, '/auth/me', { headers: { cookie } })).status).toBe(401)
  })

  it('a cookie signed after rotation verifies with the new secret', async () => {
    const newSecret = 'another-new-secret-for-rotation-0123456789'
    const email = uniqueEmail()
    const settings = { SESSION_SECRET: `${newSecret},test-session-secret-0123456789-abcdefghij` }
    await gatewayWith(settings, '/auth/magic-link', json({ email }))
    const response = await gatewayWith(settings, pathOf(await openLink(await latestLink(email))))
    const cookie = sessionCookieFrom(response)!
    const onlyNew = { SESSION_SECRET: newSecret }
    expect((await gatewayWith(onlyNew, '/auth/me', { headers: { cookie } })).status).toBe(200)
    // ...and not with the test default alone: the new secret signed it.
    expect((await gateway('/auth/me', { headers: { cookie } })).status).toBe(401)
  })
})

describe('expiry, corruption and logout', () => {
  it('treats a session past its expiresAt as gone, even while KV still holds it', async () => {
    const { cookie } = await signIn()
    const key = `session:${await sha256(idOf(cookie))}`
    const record = JSON.parse((await kv.get(key, 'text'))!)
    await kv.put(key, JSON.stringify({ ...record, expiresAt: Date.now() - 1000 }), {
      expirationTtl: 120,
    })
    const response = await gateway('/api', { headers: { cookie } })
    expect(response.status).toBe(401)
    expect(((await response.json()) as { error: string }).error).toBe('session_expired')
  })

  it('honours a short SESSION_TTL_SECONDS', async () => {
    const settings = { SESSION_TTL_SECONDS: '60' }
    const email = uniqueEmail()
    await gatewayWith(settings, '/auth/magic-link', json({ email }))
    const response = await gatewayWith(settings, pathOf(await openLink(await latestLink(email))))
    expect(response.headers.getSetCookie().join()).toMatch(/Max-Age=60;/)
    const me = (await (
      await gateway('/auth/me', { headers: { cookie: sessionCookieFrom(response)! } })
    ).json()) as { session: { createdAt: string; expiresAt: string } }
    const lifetime = Date.parse(me.session.expiresAt) - Date.parse(me.session.createdAt)
    expect(lifetime).toBe(60_000)
  })

  it.each([
    ['not JSON', 'not json at all'],
    ['an older format', JSON.stringify({ user: 'x', exp: Date.now() + 1e6 })],
    ['a wrong shape', JSON.stringify({ v: 1, userId: 42 })],
  ])('treats a session value that is %s as no session', async (_, value) => {
    const { cookie } = await signIn()
    await kv.put(`session:${await sha256(idOf(cookie))}`, value)
    const response = await gateway('/api', { headers: { cookie } })
    expect(response.status).toBe(401)
  })

  it('logout deletes the session from KV and clears the cookie', async () => {
    const { cookie } = await signIn()
    const key = `session:${await sha256(idOf(cookie))}`
    expect(await kv.get(key)).not.toBeNull()
    const response = await gateway('/auth/logout', json({}, { cookie }))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ success: true })
    expect(response.headers.getSetCookie().join()).toMatch(/__Host-session=; Max-Age=0/)
    expect(await kv.get(key)).toBeNull()
    // The old cookie, replayed, opens nothing.
    expect((await gateway('/api', { headers: { cookie } })).status).toBe(401)
  })

  it('a form logout redirects to the sign-in page with a signed-out notice', async () => {
    const { cookie } = await signIn()
    const response = await gateway('/auth/logout', {
      method: 'POST',
      headers: {
        cookie,
        origin: 'https://gateway.test',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: '',
    })
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/auth/login?signed_out=1')
    const page = await (await gateway('/auth/login?signed_out=1')).text()
    expect(page).toContain('You are signed out')
  })

  it('refuses a logout form posted from another site, and the session survives', async () => {
    const { cookie } = await signIn()
    const response = await gateway('/auth/logout', {
      method: 'POST',
      headers: {
        cookie,
        origin: 'https://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: '',
    })
    expect(response.status).toBe(403)
    expect((await gateway('/auth/me', { headers: { cookie } })).status).toBe(200)
  })

  it('logout without a session still answers success', async () => {
    const response = await gateway('/auth/logout', json({}))
    expect(response.status).toBe(200)
  })
})

describe('GET /auth/me', () => {
  it('returns the user and the session', async () => {
    const { cookie, email } = await signIn()
    const response = await gateway('/auth/me', { headers: { cookie } })
    const body = (await response.json()) as Record<string, Record<string, unknown>>
    expect(body.user).toEqual({
      id: expect.stringMatching(/^prof_/),
      email,
      firstName: null,
      lastName: null,
    })
    expect(body.session).toEqual({
      sid: expect.any(String),
      method: 'magic_link',
      authMethod: 'link',
      authTime: body.session!.createdAt,
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
      mfa: false,
    })
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it('answers 401 JSON without a session, even to a browser', async () => {
    const response = await gateway('/auth/me', { headers: { accept: 'text/html' } })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'not_signed_in' })
  })
})
