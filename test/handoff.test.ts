import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it, vi } from 'vitest'
import { ConfigError, parseConfig } from '../src/config'
import worker from '../src/index'
import { HANDOFF_SUBMIT_SCRIPT, HANDOFF_SUBMIT_SCRIPT_HASH } from '../src/pages/handoff'
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
  /** Settings beyond SETTINGS for this browser's requests (a policy, say). */
  settings: Record<string, unknown> = {}
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
    const response = await worker.fetch(
      request,
      { ...env, ...SETTINGS, ...this.settings } as Env,
      ctx,
    )
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

  /**
   * Follows redirects within the gateway's hosts, as a browser would, and submits the sign-in
   * host's handoff form as its script does (a form post whose Origin is the page's); returns the
   * last answer.
   */
  async navigate(url: string, limit = 8) {
    let current = url
    for (let i = 0; i < limit; i++) {
      const response = await this.get(current, { headers: { accept: 'text/html' } })
      const location = response.headers.get('location')
      if (response.status === 200 && new URL(current).pathname === '/auth/handoff/start') {
        const handoff = handoffForm(await response.text())
        const posted = await this.handOff(handoff, new URL(current).origin)
        current = new URL(posted.headers.get('location')!, handoff.action).toString()
        continue
      }
      if (response.status < 300 || response.status >= 400 || !location)
        return { response, url: current }
      current = new URL(location, current).toString()
    }
    throw new Error('too many redirects')
  }

  /** Posts a handoff form, from a page of `from` (the sign-in host's, unless an attacker's). */
  handOff(handoff: Handoff, from = 'https://gateway.test') {
    return this.fetch(handoff.action.toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: from },
      body: new URLSearchParams({ code: handoff.code }).toString(),
    })
  }

  /** A cookie set by script on a page of `host` (document.cookie), not by the gateway. */
  plant(host: string, name: string, value: string) {
    this.jarFor(host).set(name, value)
  }

  cookie(host: string, name: string) {
    return this.jarFor(host).get(name)
  }

  private jarFor(host: string) {
    if (!this.jars.has(host)) this.jars.set(host, new Map())
    return this.jars.get(host)!
  }
}

interface Handoff {
  action: URL
  code: string
}

/** The sign-in host's handoff page: a form that posts the code to the app host. */
function handoffForm(html: string): Handoff {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
  const code = /name="code" value="([^"]+)"/.exec(html)?.[1]
  expect(action, 'a handoff form').toBeTruthy()
  return { action: new URL(action!.replace(/&amp;/g, '&')), code: code! }
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
  const page = await browser.get(`https://gateway.test${returnTo}`)
  expect(page.status).toBe(200)
  // The code is in the page's form, never in a URL, and the page runs only its own script.
  expect(page.headers.get('location')).toBeNull()
  expect(page.headers.get('content-security-policy')).toContain(
    `script-src '${HANDOFF_SUBMIT_SCRIPT_HASH}'`,
  )
  return handoffForm(await page.text())
}

const GATEWAY = 'https://gateway.test'

const me = async (browser: Browser, origin: string) =>
  (await browser.get(`${origin}/auth/me`, { headers: { accept: 'application/json' } })).status

describe('one sign-in for every host', () => {
  it('signs in once on the sign-in host and reaches two other hosts without another email', async () => {
    const email = uniqueEmail('hosts')
    const browser = new Browser()
    const handoff = await firstSignIn(browser, email)
    expect(handoff.action.origin).toBe('https://app.gateway.test')
    expect(handoff.action.pathname).toBe('/auth/handoff')
    const landed = await browser.handOff(handoff)
    expect(landed.status).toBe(303)
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
    const stolen = await attacker.handOff(handoff)
    expect(stolen.status).toBe(302)
    expect(stolen.headers.get('location')).toBe(
      'https://gateway.test/auth/login?error=handoff_failed',
    )
    expect(attacker.cookie('app.gateway.test', '__Host-session')).toBeUndefined()
    // The attempt spent the code: the victim's own browser cannot use it either, and signs in again.
    const late = await victim.handOff(handoff)
    expect(late.headers.get('location')).toBe(
      'https://gateway.test/auth/login?error=handoff_failed',
    )
    expect(victim.cookie('app.gateway.test', '__Host-session')).toBeUndefined()
  })

  it('a code for one host is refused on another, and a used or late code lands on sign-in', async () => {
    const browser = new Browser()
    const handoff = await firstSignIn(browser, uniqueEmail())
    const elsewhere = new URL(handoff.action)
    elsewhere.host = 'docs.gateway.test'
    const other = await browser.handOff({ ...handoff, action: elsewhere })
    expect(other.headers.get('location')).toMatch(/error=handoff_failed$/)
    expect(browser.cookie('docs.gateway.test', '__Host-session')).toBeUndefined()

    const slow = new Browser()
    const lateHandoff = await firstSignIn(slow, uniqueEmail())
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 61_000)
      const late = await slow.handOff(lateHandoff)
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

  it('sign-out on any host signs this browser out of every host; everywhere, on the sign-in host, ends other devices too', async () => {
    const email = uniqueEmail('out')
    const browser = new Browser()
    await browser.handOff(await firstSignIn(browser, email))
    await browser.navigate('https://docs.gateway.test/guide')
    expect(await me(browser, 'https://docs.gateway.test')).toBe(200)
    // The same person on another device.
    const phone = new Browser()
    await phone.handOff(await firstSignIn(phone, email))
    expect(await me(phone, 'https://app.gateway.test')).toBe(200)

    const one = await browser.fetch('https://docs.gateway.test/auth/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(one.status).toBe(200)
    for (const origin of ['https://docs.gateway.test', 'https://app.gateway.test', GATEWAY])
      expect(await me(browser, origin), origin).toBe(401)
    expect(await me(phone, 'https://app.gateway.test')).toBe(200)

    // Everywhere: never from an app host, where any page of its origin could submit the form…
    await browser.handOff(await firstSignIn(browser, email))
    const fromApp = await browser.fetch('https://app.gateway.test/auth/logout', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://app.gateway.test',
        accept: 'application/json',
      },
      body: 'everywhere=1',
    })
    expect(fromApp.status).toBe(403)
    expect(await fromApp.json()).toMatchObject({ error: 'sign_in_elsewhere' })
    expect(await me(phone, 'https://app.gateway.test')).toBe(200)
    // …but from the sign-in host's own form.
    const all = await browser.fetch(`${GATEWAY}/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: GATEWAY },
      body: 'everywhere=1',
    })
    expect(all.status).toBe(303)
    expect(await me(browser, 'https://app.gateway.test')).toBe(401)
    expect(await me(browser, GATEWAY)).toBe(401)
    expect(await me(phone, 'https://app.gateway.test')).toBe(401)
  })

  it('after "Sign out" on an app host, the next visit asks for sign-in: nothing signs the person back in', async () => {
    const browser = new Browser()
    await browser.handOff(await firstSignIn(browser, uniqueEmail('shared')))
    const out = await browser.fetch('https://app.gateway.test/auth/logout', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://app.gateway.test',
      },
      body: 'returnTo=%2Freports',
    })
    expect(out.status).toBe(303)
    // Following the sign-out's own redirect, and then a plain visit, both end on the form.
    for (const start of [
      new URL(out.headers.get('location')!, 'https://app.gateway.test').toString(),
      'https://app.gateway.test/reports',
    ]) {
      const { response, url } = await browser.navigate(start)
      expect(new URL(url).origin, start).toBe(GATEWAY)
      expect(new URL(url).pathname).toBe('/auth/login')
      expect(response.status).toBe(200)
      expect(await response.text()).toContain('name="email"')
    }
    expect(browser.cookie('app.gateway.test', '__Host-session')).toBeUndefined()
  })

  it('"Use another account" on the 403 page reaches a sign-in page, not the same 403', async () => {
    const email = uniqueEmail('refused')
    const browser = new Browser()
    const withPolicy = {
      ACCESS: JSON.stringify({
        routes: [
          { name: 'app', host: 'app.gateway.test', deny: [{ emails: [email] }] },
          { name: 'docs', host: 'docs.gateway.test' },
        ],
      }),
      ALLOWED_HOSTS: 'docs.gateway.test',
    }
    browser.settings = withPolicy
    await browser.handOff(await firstSignIn(browser, email, 'https://docs.gateway.test/x'))
    const refused = await browser.navigate('https://app.gateway.test/reports')
    expect(refused.response.status).toBe(403)
    const page = await refused.response.text()
    expect(page).toContain('Use another account')
    const returnTo = /name="returnTo" value="([^"]+)"/.exec(page)![1]!
    const out = await browser.fetch('https://app.gateway.test/auth/logout', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://app.gateway.test',
      },
      body: new URLSearchParams({ returnTo }).toString(),
    })
    const { response, url } = await browser.navigate(
      new URL(out.headers.get('location')!, 'https://app.gateway.test').toString(),
    )
    expect(new URL(url).pathname).toBe('/auth/login')
    expect(response.status).toBe(200)
    expect(await response.text()).toContain('name="email"')
  })

  it('an admin revocation reaches host sessions too', async () => {
    const email = uniqueEmail('admin')
    const browser = new Browser()
    await browser.handOff(await firstSignIn(browser, email))
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
    await browser.handOff(await firstSignIn(browser, uniqueEmail()))
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

describe('what a page served on one host can do to a person', () => {
  it('login CSRF through a planted handoff nonce: the victim is never signed in as the attacker', async () => {
    // The attacker signs in as themselves and keeps the handoff code and their nonce.
    const attacker = new Browser()
    const attackersCode = await firstSignIn(attacker, uniqueEmail('attacker'))
    const nonce = attacker.cookie('app.gateway.test', '__Host-handoff')!
    expect(nonce).toBeTruthy()
    // Script on an app.gateway.test page plants that nonce in the victim's browser
    // (document.cookie can set a __Host- cookie), then sends the victim on with the code: as a
    // link, as a form of the app host's own origin, or from another site.
    const victim = new Browser()
    victim.plant('app.gateway.test', '__Host-handoff', nonce)
    const attempts = [
      () => victim.get(`${attackersCode.action}?code=${attackersCode.code}`),
      () => victim.handOff(attackersCode, 'https://app.gateway.test'),
      () => victim.handOff(attackersCode, 'https://evil.example'),
      () => victim.handOff(attackersCode, 'null'),
    ]
    for (const attempt of attempts) {
      const answer = await attempt()
      expect(answer.status).not.toBe(303)
      expect(victim.cookie('app.gateway.test', '__Host-session')).toBeUndefined()
    }
    expect(await me(victim, 'https://app.gateway.test')).toBe(401)
  })

  it('a port put in Host cannot send the victim’s code to another server', async () => {
    // The attacker asks the app host under a port of their own choosing (a server they run on
    // app.gateway.test:8443), and sends the victim the sign-in host's handoff link it produced.
    const attacker = new Browser()
    const left = await attacker.get('https://app.gateway.test:8443/reports', {
      headers: { accept: 'text/html' },
    })
    const h = new URL(left.headers.get('location')!).searchParams.get('h')!
    const victim = new Browser()
    await victim.handOff(await firstSignIn(victim, uniqueEmail('victim')))
    const page = await victim.get(`${GATEWAY}/auth/handoff/start?h=${encodeURIComponent(h)}`)
    expect(page.status).toBe(200)
    // The code goes to the app host on the port the victim reached the sign-in host by.
    const form = handoffForm(await page.text())
    expect(form.action.origin).toBe('https://app.gateway.test')
    expect(page.headers.get('content-security-policy')).toContain(
      'form-action https://app.gateway.test;',
    )
    // There it meets the victim's browser, which holds no nonce of the attacker's: nothing.
    const posted = await victim.handOff(form)
    expect(posted.headers.get('location')).toMatch(/error=handoff_failed$/)
  })

  it('a page of the sign-in host is not trusted on an app host: its forms are refused', async () => {
    const browser = new Browser()
    await browser.handOff(await firstSignIn(browser, uniqueEmail('csrf')))
    const posted = await browser.fetch('https://app.gateway.test/auth/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: GATEWAY },
      body: 'everywhere=1',
    })
    expect(posted.status).toBe(403)
    expect(await me(browser, 'https://app.gateway.test')).toBe(200)
  })

  it('an app host offers no sign-in step, MFA enrolment or session management to its pages’ scripts', async () => {
    const browser = new Browser()
    await browser.handOff(await firstSignIn(browser, uniqueEmail('scripted')))
    const script = { 'content-type': 'application/json', origin: 'https://app.gateway.test' }
    for (const [method, path] of [
      ['POST', '/auth/mfa/enroll'],
      ['POST', '/auth/mfa/verify'],
      ['GET', '/auth/sessions'],
      ['POST', '/auth/sessions/abc/revoke'],
      ['POST', '/auth/magic-auth'],
      ['POST', '/auth/magic-auth/verify'],
      ['POST', '/auth/magic-link'],
      ['GET', '/auth/callback?code=x&state=y'],
      ['GET', '/auth/handoff/start?h=x'],
    ] as const) {
      const answer = await browser.fetch(`https://app.gateway.test${path}`, {
        method,
        headers: { ...script, accept: 'application/json' },
        ...(method === 'POST' && { body: '{"email":"a@example.com","code":"123456"}' }),
      })
      expect(answer.status, `${method} ${path}`).toBe(404)
      expect(await answer.json()).toMatchObject({ error: 'sign_in_elsewhere' })
    }
    // A person who opens those pages is sent to the sign-in host.
    const sessions = await browser.get('https://app.gateway.test/auth/sessions', {
      headers: { accept: 'text/html' },
    })
    expect(sessions.headers.get('location')).toBe(`${GATEWAY}/auth/sessions`)
    const mfa = await browser.get('https://app.gateway.test/auth/mfa?returnTo=%2Fx', {
      headers: { accept: 'text/html' },
    })
    const to = new URL(mfa.headers.get('location')!)
    expect(to.origin + to.pathname).toBe(`${GATEWAY}/auth/mfa`)
    expect(to.searchParams.get('returnTo')).toMatch(/^\/auth\/handoff\/start\?h=/)
    // What a page there needs still works.
    expect(await me(browser, 'https://app.gateway.test')).toBe(200)
  })

  it('the sign-in host serves no origin content, whatever the routes say', async () => {
    const browser = new Browser()
    browser.settings = {
      ACCESS: JSON.stringify({ routes: [{ name: 'everything', path: '/*', public: true }] }),
    }
    // The catch-all public route serves the app host…
    expect((await browser.get('https://app.gateway.test/sw.js')).status).toBe(200)
    // …but never the sign-in host: its home is the sessions page, the rest is not found.
    for (const path of ['/sw.js', '/static/app.js', '/api/x']) {
      const answer = await browser.get(`${GATEWAY}${path}`, {
        headers: { accept: 'application/json' },
      })
      expect(answer.status, path).toBe(404)
      expect(await answer.json()).toMatchObject({ error: 'no_route' })
    }
    const home = await browser.get(`${GATEWAY}/`, { headers: { accept: 'text/html' } })
    expect(home.headers.get('location')).toBe('/auth/sessions')
  })

  it('the handoff page’s script is exactly the one its policy allows', async () => {
    const digest = await crypto.subtle.digest(
      'SHA-256',
      new TextEncoder().encode(HANDOFF_SUBMIT_SCRIPT),
    )
    const hash = btoa(String.fromCharCode(...new Uint8Array(digest)))
    expect(HANDOFF_SUBMIT_SCRIPT_HASH).toBe(`sha256-${hash}`)
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

  it('SIGN_IN_HOST serves no origin content: a route naming it is refused', () => {
    const access = (host: string) =>
      JSON.stringify({ routes: [{ name: 'home', host, public: true }, { name: 'all' }] })
    expect(problemsOf({ ...SETTINGS, ACCESS: access('gateway.test') })).toContain('SIGN_IN_HOST')
    expect(problemsOf({ ...SETTINGS, ACCESS: access('app.gateway.test') })).toEqual([])
  })

  it('SIGN_IN_HOST must have other hosts to serve, and PUBLIC_URL is its origin', () => {
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
