import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it, vi } from 'vitest'
import { ConfigError, parseConfig } from '../src/config'
import worker from '../src/index'
import { latestCode, mailFor, uniqueEmail } from './helpers'

// One sign-in for every host: gateway.test signs people in; app.gateway.test and
// docs.gateway.test get sessions of their own through a one-time, host-bound, browser-bound code.
// Each browser keeps one cookie jar per host, as browsers do with host-only cookies.

const SETTINGS = {
  SIGN_IN_HOST: 'gateway.test',
  ALLOWED_HOSTS: 'gateway.test, app.gateway.test, docs.gateway.test',
}

class Browser {
  private readonly jars = new Map<string, Map<string, string>>()
  constructor(readonly ip = `198.51.100.${Math.floor(Math.random() * 250)}`) {}

  async get(url: string, init: RequestInit = {}) {
    return this.fetch(url, init)
  }

  async fetch(url: string, init: RequestInit = {}) {
    const target = new URL(url)
    const jar = this.jarFor(target.hostname)
    const request = new Request(target, { redirect: 'manual', ...init })
    request.headers.set('cf-connecting-ip', this.ip)
    if (jar.size > 0)
      request.headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '))
    const ctx = createExecutionContext()
    const response = await worker.fetch(request, { ...env, ...SETTINGS } as Env, ctx)
    await waitOnExecutionContext(ctx)
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const at = pair.indexOf('=')
      const name = pair.slice(0, at)
      const value = pair.slice(at + 1)
      if (!value || /Max-Age=0/i.test(line)) jar.delete(name)
      else jar.set(name, value)
    }
    return response
  }

  /** Follows redirects within the gateway's hosts, as a browser would; returns the last answer. */
  async navigate(url: string, limit = 8) {
    let current = url
    for (let i = 0; i < limit; i++) {
      const response = await this.get(current, { headers: { accept: 'text/html' } })
      const location = response.headers.get('location')
      if (response.status < 300 || response.status >= 400 || !location)
        return { response, url: current }
      current = new URL(location, current).toString()
    }
    throw new Error('too many redirects')
  }

  cookie(host: string, name: string) {
    return this.jarFor(host).get(name)
  }

  private jarFor(host: string) {
    if (!this.jars.has(host)) this.jars.set(host, new Map())
    return this.jars.get(host)!
  }
}

/** Signs in with a code on the sign-in host, for a continuation path (the handoff). */
async function signInOnSignInHost(browser: Browser, email: string, returnTo: string) {
  const sent = await browser.fetch('https://gateway.test/auth/magic-auth', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, returnTo }),
  })
  expect(sent.status).toBe(200)
  const verified = await browser.fetch('https://gateway.test/auth/magic-auth/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: await latestCode(email) }),
  })
  expect(verified.status).toBe(200)
  return ((await verified.json()) as { returnTo: string }).returnTo
}

/** The whole first sign-in: app host → sign-in host → code → back on the app host, signed in. */
async function firstSignIn(
  browser: Browser,
  email: string,
  appUrl = 'https://app.gateway.test/reports',
) {
  const left = await browser.get(appUrl, { headers: { accept: 'text/html' } })
  expect(left.status).toBe(302)
  const login = new URL(left.headers.get('location')!)
  expect(login.origin).toBe('https://gateway.test')
  expect(login.pathname).toBe('/auth/login')
  expect(login.searchParams.get('host')).toBe(new URL(appUrl).host)
  const form = await browser.get(login.toString(), { headers: { accept: 'text/html' } })
  expect(form.status).toBe(200)
  const continuation = /name="returnTo" value="([^"]+)"/
    .exec(await form.text())![1]!
    .replace(/&amp;/g, '&')
  expect(continuation).toMatch(/^\/auth\/handoff\/start\?h=/)
  const returnTo = await signInOnSignInHost(browser, email, continuation)
  const toApp = await browser.get(`https://gateway.test${returnTo}`)
  expect(toApp.status).toBe(302)
  return new URL(toApp.headers.get('location')!)
}

const me = async (browser: Browser, origin: string) =>
  (await browser.get(`${origin}/auth/me`, { headers: { accept: 'application/json' } })).status

describe('one sign-in for every host', () => {
  it('signs in once on the sign-in host and reaches two other hosts without another email', async () => {
    const email = uniqueEmail('hosts')
    const browser = new Browser()
    const handoff = await firstSignIn(browser, email)
    expect(handoff.origin).toBe('https://app.gateway.test')
    expect(handoff.pathname).toBe('/auth/handoff')
    const landed = await browser.get(handoff.toString())
    expect(landed.status).toBe(302)
    expect(landed.headers.get('location')).toBe('/reports')
    const page = await browser.get('https://app.gateway.test/reports', {
      headers: { accept: 'application/json' },
    })
    expect(page.status).toBe(200)
    expect(
      ((await page.json()) as { headers: Record<string, string> }).headers['x-auth-email'],
    ).toBe(email)
    // The handoff nonce is spent; the session cookie is the app host's own.
    expect(browser.cookie('app.gateway.test', '__Host-handoff')).toBeUndefined()
    expect(browser.cookie('app.gateway.test', '__Host-session')).toBeTruthy()
    expect(browser.cookie('app.gateway.test', '__Host-session')).not.toBe(
      browser.cookie('gateway.test', '__Host-session'),
    )

    // A second host: straight through the sign-in host, no email.
    const mails = (await mailFor(email)).length
    const { response, url } = await browser.navigate('https://docs.gateway.test/guide')
    expect(new URL(url).host).toBe('docs.gateway.test')
    expect(new URL(url).pathname).toBe('/guide')
    expect(response.status).toBe(200)
    expect(await mailFor(email)).toHaveLength(mails)

    // The sessions page lists the host sessions with their hosts.
    const listed = (await (
      await browser.get('https://gateway.test/auth/sessions', {
        headers: { accept: 'application/json' },
      })
    ).json()) as { sessions: { host: string | null }[] }
    expect(listed.sessions.map((s) => s.host).sort()).toEqual(
      [null, 'app.gateway.test', 'docs.gateway.test'].sort(),
    )
  })

  it('a handoff code is single use, host-bound and browser-bound: an attacker with the URL gets nothing', async () => {
    const victim = new Browser()
    const handoff = await firstSignIn(victim, uniqueEmail('victim'))
    // The attacker obtained the URL (a log, a shoulder) and opens it in their own browser, which
    // even has a handoff nonce of its own for the app host.
    const attacker = new Browser()
    await attacker.get('https://app.gateway.test/reports', { headers: { accept: 'text/html' } })
    const stolen = await attacker.get(handoff.toString())
    expect(stolen.status).toBe(302)
    expect(stolen.headers.get('location')).toBe(
      'https://gateway.test/auth/login?error=handoff_failed',
    )
    expect(attacker.cookie('app.gateway.test', '__Host-session')).toBeUndefined()
    // The attempt spent the code: the victim's own browser cannot use it either, and signs in again.
    const late = await victim.get(handoff.toString())
    expect(late.headers.get('location')).toBe(
      'https://gateway.test/auth/login?error=handoff_failed',
    )
    expect(victim.cookie('app.gateway.test', '__Host-session')).toBeUndefined()
  })

  it('a code for one host is refused on another, and a used or late code lands on sign-in', async () => {
    const browser = new Browser()
    const handoff = await firstSignIn(browser, uniqueEmail())
    const elsewhere = new URL(handoff)
    elsewhere.host = 'docs.gateway.test'
    const other = await browser.get(elsewhere.toString())
    expect(other.headers.get('location')).toMatch(/error=handoff_failed$/)
    expect(browser.cookie('docs.gateway.test', '__Host-session')).toBeUndefined()

    const slow = new Browser()
    const lateHandoff = await firstSignIn(slow, uniqueEmail())
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 61_000)
      const late = await slow.get(lateHandoff.toString())
      expect(late.headers.get('location')).toMatch(/error=handoff_failed$/)
    } finally {
      vi.useRealTimers()
    }
    expect(slow.cookie('app.gateway.test', '__Host-session')).toBeUndefined()
  })

  it('refuses to send a session to a host that is not configured, or a tampered request', async () => {
    const browser = new Browser()
    const left = await browser.get('https://evil.example/steal', {
      headers: { accept: 'text/html' },
    })
    const login = new URL(left.headers.get('location')!)
    expect(login.host).toBe('gateway.test')
    const refused = await browser.get(login.toString(), { headers: { accept: 'application/json' } })
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({ error: 'invalid_handoff' })
    // A genuine request whose host parameter was changed, or whose sealed part was altered.
    const genuine = new URL(
      (
        await browser.get('https://app.gateway.test/x', { headers: { accept: 'text/html' } })
      ).headers.get('location')!,
    )
    const swapped = new URL(genuine)
    swapped.searchParams.set('host', 'docs.gateway.test')
    expect(
      (await browser.get(swapped.toString(), { headers: { accept: 'application/json' } })).status,
    ).toBe(400)
    const tampered = new URL(genuine)
    const h = tampered.searchParams.get('h')!
    tampered.searchParams.set('h', `${h.slice(0, 20)}${h[20] === 'A' ? 'B' : 'A'}${h.slice(21)}`)
    expect(
      (await browser.get(tampered.toString(), { headers: { accept: 'application/json' } })).status,
    ).toBe(400)
    const start = await browser.get(
      `https://gateway.test/auth/handoff/start?h=${encodeURIComponent(tampered.searchParams.get('h')!)}`,
      { headers: { accept: 'application/json' } },
    )
    expect(start.status).toBe(400)
  })

  it('sign-out on one host ends that host’s session; everywhere, from any host, ends all', async () => {
    const browser = new Browser()
    const handoff = await firstSignIn(browser, uniqueEmail('out'))
    await browser.get(handoff.toString())
    await browser.navigate('https://docs.gateway.test/guide')
    expect(await me(browser, 'https://docs.gateway.test')).toBe(200)
    // One host.
    const one = await browser.fetch('https://docs.gateway.test/auth/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(one.status).toBe(200)
    expect(await me(browser, 'https://docs.gateway.test')).toBe(401)
    expect(await me(browser, 'https://app.gateway.test')).toBe(200)
    expect(await me(browser, 'https://gateway.test')).toBe(200)
    // Everywhere, from an app host's form (its own origin is a gateway origin).
    const all = await browser.fetch('https://app.gateway.test/auth/logout', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://app.gateway.test',
      },
      body: 'everywhere=1',
    })
    expect(all.status).toBe(303)
    expect(await me(browser, 'https://app.gateway.test')).toBe(401)
    expect(await me(browser, 'https://gateway.test')).toBe(401)
  })

  it('an admin revocation reaches host sessions too', async () => {
    const email = uniqueEmail('admin')
    const browser = new Browser()
    await browser.get((await firstSignIn(browser, email)).toString())
    expect(await me(browser, 'https://app.gateway.test')).toBe(200)
    const revoked = await browser.fetch('https://gateway.test/auth/admin/revoke', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer test-admin-token-0123456789-abcdefghijkl',
      },
      body: JSON.stringify({ email }),
    })
    expect(((await revoked.json()) as { revoked: number }).revoked).toBeGreaterThanOrEqual(2)
    expect(await me(browser, 'https://app.gateway.test')).toBe(401)
  })

  it('the host session keeps the sign-in’s moment (auth_time) and never outlives it', async () => {
    const browser = new Browser()
    await browser.get((await firstSignIn(browser, uniqueEmail())).toString())
    const signIn = (await (await browser.get('https://gateway.test/auth/me')).json()) as {
      session: { authTime: string; expiresAt: string }
    }
    const app = (await (await browser.get('https://app.gateway.test/auth/me')).json()) as {
      session: { authTime: string; expiresAt: string }
    }
    expect(app.session.authTime).toBe(signIn.session.authTime)
    expect(Date.parse(app.session.expiresAt)).toBeLessThanOrEqual(
      Date.parse(signIn.session.expiresAt),
    )
  })
})

describe('the settings', () => {
  const problemsOf = (overrides: Record<string, unknown>) => {
    try {
      parseConfig({ ...env, ...overrides } as unknown as Record<string, unknown>)
      return []
    } catch (error) {
      if (error instanceof ConfigError) return error.problems.map((p) => p.variable)
      throw error
    }
  }

  it('SIGN_IN_HOST must be a configured host, and PUBLIC_URL its origin', () => {
    expect(problemsOf(SETTINGS)).toEqual([])
    expect(problemsOf({ SIGN_IN_HOST: 'gateway.test' })).toContain('SIGN_IN_HOST')
    expect(problemsOf({ ...SETTINGS, SIGN_IN_HOST: 'https://gateway.test' })).toContain(
      'SIGN_IN_HOST',
    )
    expect(problemsOf({ ...SETTINGS, ALLOWED_HOSTS: 'app.gateway.test, not a host' })).toContain(
      'ALLOWED_HOSTS',
    )
    expect(
      problemsOf({ SIGN_IN_HOST: 'app.gateway.test', ALLOWED_HOSTS: 'app.gateway.test' }),
    ).toContain('PUBLIC_URL')
  })
})
