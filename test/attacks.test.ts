import { describe, expect, it } from 'vitest'
import {
  form,
  fromAnotherBrowser,
  gateway,
  json,
  latestCode,
  latestLink,
  openLink,
  pathOf,
  sessionCookieFrom,
  signIn,
  uniqueEmail,
} from './helpers'

// The attacks an auth gateway is judged on (oauth2-proxy's advisories are the list). Open
// redirects, header spoofing and assertion forgery have their own files; this one gathers the rest.

describe('cookie attacks', () => {
  it('cookie tossing: a planted __Host-session before the real one fails closed', async () => {
    const { cookie } = await signIn()
    const planted = '__Host-session=' + ['A', 'C', 'B'].map((ch) => ch.repeat(43)).join('.')
    const response = await gateway('/api', { headers: { cookie: `${planted}; ${cookie}` } })
    expect(response.status).toBe(401)
  })

  it('a session cookie under another name or case is not the session', async () => {
    const { cookie } = await signIn()
    const value = cookie.split('=')[1]
    for (const name of ['__host-session', '__Secure-session', 'session', '__Host-Session']) {
      const response = await gateway('/api', { headers: { cookie: `${name}=${value}` } })
      expect(response.status).toBe(401)
    }
  })

  it('a cookie signed with a foreign secret is refused', async () => {
    const { cookie } = await signIn()
    const [id, person] = cookie.slice('__Host-session='.length).split('.')
    const key = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode('attacker-secret-attacker-secret-attacker'),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    )
    const signature = new Uint8Array(
      await crypto.subtle.sign(
        'HMAC',
        key,
        new TextEncoder().encode(`session-cookie\n${id}.${person}`),
      ),
    )
    const forged = btoa(String.fromCharCode(...signature))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
    const response = await gateway('/api', {
      headers: { cookie: `__Host-session=${id}.${person}.${forged}` },
    })
    expect(response.status).toBe(401)
  })
})

describe('session fixation and login CSRF', () => {
  it('a sign-in in a browser that carried an attacker-known cookie gets a different id', async () => {
    const attacker = await signIn()
    const email = uniqueEmail()
    await gateway('/auth/magic-link', json({ email }))
    const response = await gateway(pathOf(await openLink(await latestLink(email))), {
      headers: { cookie: attacker.cookie },
    })
    const issued = sessionCookieFrom(response)!
    expect(issued).not.toBe(attacker.cookie)
    // And the attacker's own session was ended, not shared.
    expect((await gateway('/auth/me', { headers: { cookie: attacker.cookie } })).status).toBe(401)
  })

  it.each([
    '/auth/magic-link',
    '/auth/magic-auth',
    '/auth/magic-auth/verify',
    '/auth/logout',
    '/auth/callback',
  ])('a cross-site form post to %s is refused (403)', async (route) => {
    const response = await fromAnotherBrowser(
      route,
      form(
        { email: uniqueEmail(), code: '123456' },
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      ),
    )
    expect(response.status).toBe(403)
    expect(sessionCookieFrom(response)).toBeUndefined()
  })

  it('a cross-site text/plain post (the no-preflight trick) is refused too', async () => {
    const response = await fromAnotherBrowser('/auth/magic-link', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
      body: '{"email":"victim@example.com"}',
    })
    expect(response.status).toBe(403)
  })
})

describe('replays', () => {
  it('a used code cannot be replayed', async () => {
    const email = uniqueEmail()
    const sent = await fromAnotherBrowser('/auth/magic-auth', json({ email }))
    const { pending } = (await sent.json()) as { pending: string }
    const code = await latestCode(email)
    const first = await fromAnotherBrowser('/auth/magic-auth/verify', json({ pending, code }))
    expect(first.status).toBe(200)
    const replay = await fromAnotherBrowser('/auth/magic-auth/verify', json({ pending, code }))
    expect(replay.status).toBe(400)
    expect(sessionCookieFrom(replay)).toBeUndefined()
  })

  it('a code cannot be used for another address', async () => {
    const [owner, thief] = [uniqueEmail(), uniqueEmail()]
    await gateway('/auth/magic-auth', json({ email: owner }))
    await gateway('/auth/magic-auth', json({ email: thief }))
    // The browser's pending code is the thief's: the owner's code does not open it.
    const response = await gateway(
      '/auth/magic-auth/verify',
      json({ code: await latestCode(owner) }),
    )
    expect(response.status).toBe(400)
    expect(sessionCookieFrom(response)).toBeUndefined()
  })
})

describe('malformed and oversized input', () => {
  it.each([
    ['an 8 KB cookie', { cookie: `a=${'x'.repeat(8192)}` }],
    ['a cookie with bad escapes', { cookie: '__Host-session=%E0%A4%A; x=%%' }],
    ['a cookie of delimiters', { cookie: '__Host-session=..; ;;=; =__Host-session' }],
    ['a 4 KB X-Forwarded-Uri', { 'x-forwarded-uri': `/${'a'.repeat(4096)}` }],
    ['an Accept of garbage', { accept: ';;;q=abc,,*/*;q=' }],
    ['a huge request id', { 'x-request-id': 'r'.repeat(10_000) }],
  ])('answers %s with a 4xx, never a 5xx', async (_, headers) => {
    for (const path of ['/api', '/auth/me', '/auth/verify', '/auth/sessions']) {
      const response = await gateway(path, { headers })
      expect(response.status).toBeGreaterThanOrEqual(400)
      expect(response.status).toBeLessThan(500)
    }
  })

  it('does not echo a hostile request id back', async () => {
    const response = await gateway('/healthz', {
      headers: { 'x-request-id': '<script>alert(1)</script>' },
    })
    expect(response.headers.get('x-request-id')).not.toContain('<')
  })

  it('answers an unknown method on an /auth route with a 4xx, never the origin', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const response = await gateway('/auth/login', {
        method,
        headers: { 'content-type': 'application/json' },
      })
      expect(response.status).toBe(404)
      expect(response.headers.get('x-origin')).toBeNull()
    }
  })
})

describe('what never reaches the browser or the origin', () => {
  it('gateway pages are no-store, framed by nobody, with a CSP without inline script', async () => {
    for (const path of ['/auth/login', '/auth/check-email', '/auth/me', '/healthz']) {
      const response = await gateway(path)
      expect(response.headers.get('cache-control')).toBe('no-store')
      const csp = response.headers.get('content-security-policy') ?? ''
      expect(csp).toContain("frame-ancestors 'none'")
      expect(csp).not.toContain('unsafe-inline')
      expect(csp).toContain("default-src 'none'")
      expect(response.headers.get('referrer-policy')).toBe('no-referrer')
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    }
  })

  it('no gateway cookie reaches the origin', async () => {
    const { cookie } = await signIn()
    const response = await gateway('/echo', {
      headers: { cookie: `${cookie}; __Host-signin=x; __Host-magic-auth=y; mine=1` },
    })
    const seen = (await response.json()) as { headers: Record<string, string> }
    expect(seen.headers.cookie).toBe('mine=1')
  })
})
