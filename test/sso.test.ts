import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../src/index'
import {
  EMULATOR,
  GATEWAY,
  armFault,
  clearFaults,
  form,
  fromAnotherBrowser,
  gateway,
  json,
  mailFor,
  pathOf,
  sessionCookieFrom,
  uniqueEmail,
} from './helpers'

// Enterprise SSO through WorkOS's SSO API, against the emulator's stand-in IdP: the one email
// field sends an SSO domain's people to their IdP, the callback signs them in with what the IdP
// said (organization, connection, role, groups), and everything downstream sees it.

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`

/** A new organization with a verified domain and an active SSO connection. */
async function organization(options: { sso?: boolean } = {}) {
  const domain = `corp-${unique()}.test`
  const response = await fetch(
    `${EMULATOR}/__organizations`,
    json({ name: `Corp ${domain}`, domains: [domain], sso: options.sso ?? true }),
  )
  expect(response.status).toBe(201)
  const { id, connectionId } = (await response.json()) as { id: string; connectionId: string }
  return { domain, id, connectionId }
}

/** Follows an authorize URL to the IdP page and answers it; returns where the IdP sends back. */
async function atIdp(
  authorizeUrl: string,
  answer: { decision: 'allow' | 'deny'; email?: string; role?: string; groups?: string },
) {
  const toIdp = await fetch(authorizeUrl, { redirect: 'manual' })
  expect(toIdp.status).toBe(302)
  const page = new URL(toIdp.headers.get('location')!, authorizeUrl)
  if (page.origin !== new URL(EMULATOR).origin) return page.toString() // an error straight back
  const html = await (await fetch(page)).text()
  const hint = /id="email"[^>]*value="([^"]*)"/.exec(html)?.[1] ?? ''
  const body = new URLSearchParams({
    email: answer.email ?? hint,
    first_name: 'Grace',
    last_name: 'Hopper',
    role: answer.role ?? 'member',
    groups: answer.groups ?? '',
    decision: answer.decision,
  })
  const back = await fetch(page, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  })
  return back.headers.get('location')!
}

async function ssoSignIn(email: string, answer: { role?: string; groups?: string } = {}) {
  const asked = await gateway('/auth/magic-auth', json({ email, returnTo: '/reports' }))
  expect(asked.status).toBe(403)
  const { redirect } = (await asked.json()) as { redirect: string }
  const callback = await atIdp(redirect, { decision: 'allow', ...answer })
  const done = await gateway(pathOf(callback))
  return { done, cookie: sessionCookieFrom(done) }
}

const decodeClaims = (jwt: string) =>
  JSON.parse(atob(jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<
    string,
    unknown
  >

describe('SSO sign-in by email domain', () => {
  it('JSON: 403 sso_required with the authorize URL, and no code or link is sent', async () => {
    const org = await organization()
    const email = `ann@${org.domain}`
    for (const route of ['/auth/magic-auth', '/auth/magic-link']) {
      const response = await gateway(route, json({ email }))
      expect(response.status).toBe(403)
      const body = (await response.json()) as { error: string; redirect: string }
      expect(body.error).toBe('sso_required')
      const url = new URL(body.redirect)
      expect(url.pathname).toBe('/sso/authorize')
      expect(url.searchParams.get('organization')).toBe(org.id)
      expect(url.searchParams.get('login_hint')).toBe(email)
      expect(url.searchParams.get('code_challenge_method')).toBe('S256')
      expect(url.searchParams.get('redirect_uri')).toBe(`${GATEWAY}/auth/callback`)
    }
    expect(await mailFor(email)).toHaveLength(0)
  })

  it('a form goes to the IdP (303); the IdP’s answer signs in with organization, role and groups', async () => {
    const org = await organization()
    const email = `grace@${org.domain}`
    const posted = await gateway('/auth/magic-link', form({ email, returnTo: '/reports' }))
    expect(posted.status).toBe(303)
    const callback = await atIdp(posted.headers.get('location')!, {
      decision: 'allow',
      role: 'admin',
      groups: 'eng, ops',
    })
    const done = await gateway(pathOf(callback))
    expect(done.status).toBe(302)
    expect(done.headers.get('location')).toBe('/reports')
    const cookie = sessionCookieFrom(done)!
    const me = (await (await gateway('/auth/me', { headers: { cookie } })).json()) as {
      user: { id: string; email: string; firstName: string }
      session: Record<string, unknown>
    }
    expect(me.user).toMatchObject({
      id: expect.stringMatching(/^prof_/),
      email,
      firstName: 'Grace',
    })
    expect(me.session).toMatchObject({
      method: 'sso',
      authMethod: 'sso',
      organizationId: org.id,
      connectionId: org.connectionId,
      roles: ['admin'],
      groups: ['eng', 'ops'],
      mfa: false,
    })
    // The origin sees the organization, and the assertion carries all of it.
    const seen = (await (await gateway('/api/x', { headers: { cookie } })).json()) as {
      headers: Record<string, string>
    }
    expect(seen.headers['x-auth-organization']).toBe(org.id)
    const claims = decodeClaims(seen.headers['x-auth-assertion']!)
    expect(claims).toMatchObject({
      org_id: org.id,
      roles: ['admin'],
      groups: ['eng', 'ops'],
      amr: ['sso'],
      email,
    })
    expect(typeof claims.auth_time).toBe('number')
  })

  it('ACCESS rules on organizations, roles, groups and authMethods', async () => {
    const org = await organization()
    const { cookie } = await ssoSignIn(`lin@${org.domain}`, { role: 'engineer', groups: 'eng' })
    const codeUser = uniqueEmail()
    const sent = await gateway('/auth/magic-auth', json({ email: codeUser }))
    expect(sent.status).toBe(200)
    const policy = JSON.stringify({
      routes: [
        { name: 'org', path: '/org/*', allow: [{ organizations: [org.id] }] },
        { name: 'eng', path: '/eng/*', allow: [{ groups: ['eng'], roles: ['engineer'] }] },
        { name: 'ops', path: '/ops/*', allow: [{ groups: ['ops'] }] },
        { name: 'sso-only', path: '/sso/*', allow: [{ authMethods: ['sso'] }] },
      ],
    })
    const status = async (path: string, who: string) => {
      const ctx = createExecutionContext()
      const response = await worker.fetch(
        new Request(`${GATEWAY}${path}`, { headers: { cookie: who, accept: 'application/json' } }),
        { ...env, ACCESS: policy } as Env,
        ctx,
      )
      await waitOnExecutionContext(ctx)
      return response.status
    }
    expect(await status('/org/x', cookie!)).toBe(200)
    expect(await status('/eng/x', cookie!)).toBe(200)
    expect(await status('/ops/x', cookie!)).toBe(403)
    expect(await status('/sso/x', cookie!)).toBe(200)
  })

  it('the IdP refusing: back on the sign-in page with the SSO notice, no session', async () => {
    const org = await organization()
    const asked = await gateway('/auth/magic-auth', json({ email: `no@${org.domain}` }))
    const { redirect } = (await asked.json()) as { redirect: string }
    const callback = await atIdp(redirect, { decision: 'deny' })
    const done = await gateway(pathOf(callback))
    expect(done.status).toBe(302)
    expect(done.headers.get('location')).toMatch(/^\/auth\/login\?error=sso_failed/)
    expect(sessionCookieFrom(done)).toBeUndefined()
    const page = await gateway(done.headers.get('location')!, { headers: { accept: 'text/html' } })
    expect(await page.text()).toContain('Single sign-on did not complete')
  })

  it('a code used twice, or a state altered, signs nobody in', async () => {
    const org = await organization()
    const asked = await gateway('/auth/magic-auth', json({ email: `twice@${org.domain}` }))
    const { redirect } = (await asked.json()) as { redirect: string }
    const callback = await atIdp(redirect, { decision: 'allow' })
    expect(sessionCookieFrom(await gateway(pathOf(callback)))).toBeDefined()
    const again = await gateway(pathOf(callback))
    expect(sessionCookieFrom(again)).toBeUndefined()
    expect(again.headers.get('location')).toMatch(/error=sso_failed/)
  })

  it('another browser gets no confirmation page and no session, only a refusal', async () => {
    // An SSO redirect never leaves the browser that started it: a callback URL seen elsewhere
    // (an origin's service worker, a log, a shoulder) is refused, not offered for confirmation.
    const org = await organization()
    const email = `elsewhere@${org.domain}`
    const asked = await gateway('/auth/magic-auth', json({ email, returnTo: '/reports' }))
    const { redirect } = (await asked.json()) as { redirect: string }
    const callback = await atIdp(redirect, { decision: 'allow' })
    const other = await fromAnotherBrowser(pathOf(callback), { headers: { accept: 'text/html' } })
    expect(other.status).toBe(302)
    expect(other.headers.get('location')).toBe(
      '/auth/login?error=sso_other_browser&returnTo=%2Freports',
    )
    expect(sessionCookieFrom(other)).toBeUndefined()
    const page = await fromAnotherBrowser(other.headers.get('location')!, {
      headers: { accept: 'text/html' },
    })
    expect(await page.text()).toContain('in another browser')
    // Nor can that browser post the confirmation a link would get.
    const { code, state } = Object.fromEntries(new URL(callback).searchParams)
    const posted = await fromAnotherBrowser('/auth/callback', form({ code: code!, state: state! }))
    expect(posted.status).toBe(303)
    expect(posted.headers.get('location')).toBe(
      '/auth/login?error=sso_other_browser&returnTo=%2Freports',
    )
    expect(sessionCookieFrom(posted)).toBeUndefined()
    // The code was never spent: the browser that started signs in.
    const done = await gateway(pathOf(callback))
    expect(sessionCookieFrom(done)).toBeDefined()
    expect(done.headers.get('location')).toBe('/reports')
  })

  it('an organization without an active connection does not take its people to SSO', async () => {
    const org = await organization({ sso: false })
    const response = await gateway('/auth/magic-auth', json({ email: `plain@${org.domain}` }))
    expect(response.status).toBe(200)
  })
})

describe('/auth/sso', () => {
  it('GET by email goes to the IdP; a domain without SSO goes back to sign in, saying so', async () => {
    const org = await organization()
    const started = await gateway(
      `/auth/sso?email=${encodeURIComponent(`bo@${org.domain}`)}&returnTo=%2Fdocs`,
    )
    expect(started.status).toBe(302)
    expect(new URL(started.headers.get('location')!).searchParams.get('organization')).toBe(org.id)
    const plain = await gateway(
      `/auth/sso?email=${encodeURIComponent(uniqueEmail())}&returnTo=%2Fdocs`,
    )
    expect(plain.status).toBe(302)
    expect(plain.headers.get('location')).toBe('/auth/login?error=sso_unavailable&returnTo=%2Fdocs')
  })

  it('GET by organization signs in and returns to returnTo', async () => {
    const org = await organization()
    const started = await gateway(`/auth/sso?organization=${org.id}&returnTo=%2Fdocs`)
    const callback = await atIdp(started.headers.get('location')!, {
      decision: 'allow',
      email: `dee@${org.domain}`,
    })
    const done = await gateway(pathOf(callback))
    expect(done.headers.get('location')).toBe('/docs')
    expect(sessionCookieFrom(done)).toBeDefined()
  })

  it('an unknown organization comes back from WorkOS as a failure, with the SSO notice', async () => {
    const started = await gateway('/auth/sso?organization=org_DOESNOTEXIST0000000000')
    const back = await atIdp(started.headers.get('location')!, { decision: 'allow' })
    expect(new URL(back).searchParams.get('error')).toBeTruthy()
    const done = await gateway(pathOf(back))
    expect(done.headers.get('location')).toMatch(/^\/auth\/login\?error=sso_failed/)
  })

  it('POST JSON answers {redirect}; a domain without SSO is 400 sso_not_available', async () => {
    const org = await organization()
    const ok = await gateway('/auth/sso', json({ email: `cy@${org.domain}` }))
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as { redirect: string }).redirect).toContain('/sso/authorize?')
    const no = await gateway('/auth/sso', json({ email: uniqueEmail() }))
    expect(no.status).toBe(400)
    expect(await no.json()).toMatchObject({ error: 'sso_not_available' })
    const bad = await gateway('/auth/sso', json({ organization: 'not-an-org' }))
    expect(bad.status).toBe(400)
  })
})

describe('the domain lookup', () => {
  it('asks WorkOS at most once per domain in the cache window, negative answers too', async () => {
    const stats = async () =>
      ((await (await fetch(`${EMULATOR}/__stats`)).json()) as { byRoute: Record<string, number> })
        .byRoute['GET /organizations'] ?? 0
    const domain = `plain-${unique()}.example`
    const before = await stats()
    for (let i = 0; i < 3; i++) {
      const response = await gateway('/auth/magic-auth', json({ email: `p${i}@${domain}` }))
      expect(response.status).toBe(200)
    }
    expect((await stats()) - before).toBe(1)
  })
})

describe('the addresses an organization’s IdP may assert', () => {
  const idpStats = async () =>
    ((await (await fetch(`${EMULATOR}/__stats`)).json()) as { byRoute: Record<string, number> })
      .byRoute['GET /organizations/:id'] ?? 0

  /**
   * A tenant whose WorkOS organization lets its IdP sign in profiles outside its domains
   * (allow_profiles_outside_organization), and which has also added another company's domain
   * without verifying it.
   */
  async function hostileOrganization(claimedDomain: string) {
    const own = `corp-${unique()}.test`
    const response = await fetch(
      `${EMULATOR}/__organizations`,
      json({
        name: 'Hostile',
        domains: [own, { domain: claimedDomain, state: 'pending' }],
        allowProfilesOutsideOrganization: true,
      }),
    )
    expect(response.status).toBe(201)
    return { own, id: ((await response.json()) as { id: string }).id }
  }

  it('a profile whose address is outside the organization’s verified domains signs nobody in', async () => {
    const otherCompany = `other-${unique()}.test`
    const hostile = await hostileOrganization(otherCompany)
    for (const victim of [
      `ceo@${otherCompany}`,
      `CEO@${otherCompany.toUpperCase()}`,
      // Not even a subdomain of its own: only the verified domains themselves.
      `it@mail.${hostile.own}`,
    ]) {
      const started = await gateway(`/auth/sso?organization=${hostile.id}&returnTo=%2Fdocs`)
      const callback = await atIdp(started.headers.get('location')!, {
        decision: 'allow',
        email: victim,
        role: 'admin',
      })
      // WorkOS let the IdP assert it; the gateway does not take it.
      expect(callback).toContain('/auth/callback?code=')
      const done = await gateway(pathOf(callback))
      expect(done.status).toBe(302)
      expect(done.headers.get('location')).toBe(
        '/auth/login?error=sso_outside_domains&returnTo=%2Fdocs',
      )
      expect(sessionCookieFrom(done)).toBeUndefined()
      const page = await gateway(done.headers.get('location')!, {
        headers: { accept: 'text/html' },
      })
      expect(await page.text()).toContain('outside your organization’s domains')
    }
    // The same IdP still signs in its own people.
    const started = await gateway(`/auth/sso?organization=${hostile.id}`)
    const callback = await atIdp(started.headers.get('location')!, {
      decision: 'allow',
      email: `staff@${hostile.own}`,
    })
    expect(sessionCookieFrom(await gateway(pathOf(callback)))).toBeDefined()
  })

  it('WorkOS out of reach for the organization’s domains: 503, and nobody is signed in', async () => {
    const org = await organization()
    const asked = await gateway('/auth/magic-auth', json({ email: `ann@${org.domain}` }))
    const { redirect } = (await asked.json()) as { redirect: string }
    const callback = await atIdp(redirect, { decision: 'allow' })
    await armFault({ method: 'GET', path: '/organizations/*', status: 500, count: 5 })
    try {
      const done = await gateway(pathOf(callback), { headers: { accept: 'text/html' } })
      expect(done.status).toBe(503)
      expect(done.headers.get('retry-after')).not.toBeNull()
      expect(sessionCookieFrom(done)).toBeUndefined()
    } finally {
      await clearFaults()
    }
  })

  it('asks WorkOS for an organization’s domains at most once in the cache window', async () => {
    const org = await organization()
    const before = await idpStats()
    for (const name of ['ann', 'bob', 'cy']) {
      const { cookie } = await ssoSignIn(`${name}@${org.domain}`)
      expect(cookie).toBeDefined()
    }
    expect((await idpStats()) - before).toBe(1)
  })
})
