import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { sha256 } from '../src/crypto'
import {
  gatewayWith,
  json,
  latestLink,
  openLink,
  pathOf,
  sessionCookieFrom,
  signIn,
  uniqueEmail,
} from './helpers'

// KV that fails: a thin wrapper around the real binding that throws or hangs on demand.
function faultyKv(fail: { get?: 'throw' | 'hang'; put?: 'throw'; delete?: 'throw' }): KVNamespace {
  const kv = env.SESSIONS
  return new Proxy(kv, {
    get(target, name: string) {
      const value = (target as unknown as Record<string, unknown>)[name]
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const mode = fail[name as keyof typeof fail]
        if (mode === 'throw') return Promise.reject(new Error('KV GET failed: 503 (injected)'))
        if (mode === 'hang') return new Promise(() => {})
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
}

describe('KV faults fail closed', () => {
  it('a KV read that throws refuses access with 503 and Retry-After, never the origin', async () => {
    const { cookie } = await signIn()
    const settings = { SESSIONS: faultyKv({ get: 'throw' }) }
    const api = await gatewayWith(settings, '/api', { headers: { cookie } })
    expect(api.status).toBe(503)
    expect(api.headers.get('retry-after')).toBeTruthy()
    expect(api.headers.get('x-origin')).toBeNull()
    expect(await api.json()).toMatchObject({ error: 'session_store_unavailable' })
    const page = await gatewayWith(settings, '/page', { headers: { cookie, accept: 'text/html' } })
    expect(page.status).toBe(503)
    expect(await page.text()).toContain('try again')
    // The cookie is kept: the session is fine once KV answers again.
    expect(page.headers.getSetCookie().join()).not.toContain('__Host-session=;')
    expect((await gatewayWith({}, '/api', { headers: { cookie } })).status).toBe(200)
  })

  it('a KV read that hangs is answered with 503 within the deadline', async () => {
    const { cookie } = await signIn()
    const started = Date.now()
    const response = await gatewayWith({ SESSIONS: faultyKv({ get: 'hang' }) }, '/api', {
      headers: { cookie },
    })
    expect(response.status).toBe(503)
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('a KV write that fails during sign-in makes no session and sets no cookie', async () => {
    const email = uniqueEmail()
    await gatewayWith({}, '/auth/magic-link', json({ email }))
    const callback = pathOf(await openLink(await latestLink(email)))
    const response = await gatewayWith({ SESSIONS: faultyKv({ put: 'throw' }) }, callback, {
      headers: { accept: 'text/html' },
    })
    expect(response.status).toBe(503)
    expect(sessionCookieFrom(response)).toBeUndefined()
  })

  it('a KV delete that fails during sign-out still clears the cookie and says so', async () => {
    const { cookie } = await signIn()
    const response = await gatewayWith(
      { SESSIONS: faultyKv({ delete: 'throw' }) },
      '/auth/logout',
      json({}, { cookie }),
    )
    expect(response.status).toBe(503)
    expect(response.headers.getSetCookie().join()).toMatch(/__Host-session=; Max-Age=0/)
  })

  it('a session deleted while another request reads it: never a 5xx, and refused from then on', async () => {
    const { cookie } = await signIn()
    const key = `session:${await sha256(cookie.slice('__Host-session='.length).split('.')[0]!)}`
    const reads = Array.from({ length: 10 }, () => gatewayWith({}, '/api', { headers: { cookie } }))
    const deletion = env.SESSIONS.delete(key)
    const statuses = (await Promise.all([...reads, deletion.then(() => null)]))
      .filter((r): r is Response => r !== null)
      .map((r) => r.status)
    for (const status of statuses) expect([200, 401]).toContain(status)
    expect((await gatewayWith({}, '/api', { headers: { cookie } })).status).toBe(401)
  })
})
