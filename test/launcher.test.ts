import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { gatewayAt, sessionFor, sessionKvKeyOf, signIn, uniqueEmail } from './helpers'

// The app launcher (GET /auth/apps) through the real Worker: what each person is offered under an
// ACCESS policy, decided as the gate decides a GET of each route's entry URL, as a page and as
// JSON; without ACCESS; and under SIGN_IN_HOST, where the apps are on other hosts.

const ADMIN_EMAIL = uniqueEmail('ops')
const BLOCKED_EMAIL = uniqueEmail('blocked')
const OUTSIDER_EMAIL = `outsider-${Date.now().toString(36)}@elsewhere.test`

const POLICY = {
  routes: [
    { name: 'status', path: '/status', public: true },
    { name: 'docs', path: '/docs/*', public: true, launcher: { title: 'Handbook' } },
    {
      name: 'grafana',
      path: '/grafana/*',
      allow: [{ domains: ['example.com'] }],
      launcher: { title: 'Grafana <Ops> & "Co"', url: '/grafana/dashboards' },
    },
    { name: 'admin', host: 'admin.gateway.test', allow: [{ emails: [ADMIN_EMAIL] }] },
    { name: 'hidden', path: '/hidden/*', launcher: false },
    { name: 'team', path: '/team/*', deny: [{ emails: [BLOCKED_EMAIL] }] },
    { name: 'hooks', path: '/hooks/*', methods: ['POST'] },
    { name: 'no-get', path: '/no-get/*', deny: [{ methods: ['GET'] }] },
    { name: 'read-only', path: '/write/*', allow: [{ methods: ['GET'] }] },
    { name: 'office', path: '/office/*', allow: [{ ips: ['203.0.113.0/24'] }] },
    { name: 'fresh', path: '/fresh/*', maxSignInAge: 60 },
    { name: 'secure', path: '/secure/*', allow: [{ mfa: true }] },
    {
      name: 'acme-eng',
      path: '/acme/*',
      allow: [{ organizations: ['org_acme'], groups: ['engineering'] }],
    },
    // Its entry URL (/reports/) is an address the route before it decides.
    { name: 'reports-index', path: '/reports/' },
    { name: 'reports', path: '/reports/*', allow: [{ emails: [ADMIN_EMAIL] }] },
    { name: 'app', path: '/*' },
  ],
}
const ACCESS = JSON.stringify(POLICY)

/** A request through the Worker with ACCESS set (or other settings), to any host. */
const call = (url: string, init: RequestInit & { cf?: object } = {}, settings = {}) =>
  gatewayAt(url, init, { ACCESS, ...settings })

interface Listed {
  route: string | null
  title: string
  url: string
}

const asJson = { accept: 'application/json' }
const asBrowser = { accept: 'text/html' }

/** The launcher's JSON for this cookie: route names, or whole entries with `whole`. */
async function listed(cookie: string, headers: Record<string, string> = {}, settings = {}) {
  const response = await call(
    '/auth/apps',
    { headers: { cookie, ...asJson, ...headers } },
    settings,
  )
  expect(response.status).toBe(200)
  return ((await response.json()) as { apps: Listed[] }).apps
}
const namesFor = async (cookie: string, headers: Record<string, string> = {}) =>
  (await listed(cookie, headers)).map((app) => app.route)

/** Rewrites the stored session, as an SSO sign-in, a second factor or time would have. */
async function editSession(cookie: string, patch: Record<string, unknown>) {
  const key = await sessionKvKeyOf(cookie)
  const record = JSON.parse((await env.SESSIONS.get(key, 'text'))!) as Record<string, unknown>
  await env.SESSIONS.put(key, JSON.stringify({ ...record, ...patch }), { expirationTtl: 3600 })
}

describe('what the launcher lists', () => {
  it('each route a GET of whose entry URL the gate would allow, with its name and URL, in policy order', async () => {
    const apps = await listed(await sessionFor())
    expect(apps).toEqual([
      { route: 'docs', title: 'Handbook', url: 'https://gateway.test/docs/' },
      {
        route: 'grafana',
        title: 'Grafana <Ops> & "Co"',
        url: 'https://gateway.test/grafana/dashboards',
      },
      { route: 'team', title: 'team', url: 'https://gateway.test/team/' },
      { route: 'read-only', title: 'read-only', url: 'https://gateway.test/write/' },
      { route: 'fresh', title: 'fresh', url: 'https://gateway.test/fresh/' },
      { route: 'reports-index', title: 'reports-index', url: 'https://gateway.test/reports/' },
      { route: 'app', title: 'app', url: 'https://gateway.test/' },
    ])
    // Left out: a public route that did not opt in (status), `"launcher": false` (hidden), a route
    // without GET (hooks), one whose rules refuse GET (no-get), and the rest by their rules.
  })

  it('per person: an email rule, a domain rule, and a route on another host with an absolute URL', async () => {
    const admin = await listed(await sessionFor(ADMIN_EMAIL))
    expect(admin.map((app) => app.route)).toContain('admin')
    expect(admin.find((app) => app.route === 'admin')!.url).toBe('https://admin.gateway.test/')
    // The entry /reports/ belongs to reports-index: opening it would never reach `reports`.
    expect(admin.map((app) => app.route)).not.toContain('reports')
    const outsider = await namesFor(await sessionFor(OUTSIDER_EMAIL))
    expect(outsider).not.toContain('admin')
    expect(outsider).not.toContain('grafana')
    expect(outsider).toContain('app')
  })

  it('a route a deny rule refuses the person is not listed', async () => {
    const names = await namesFor(await sessionFor(BLOCKED_EMAIL))
    expect(names).not.toContain('team')
    expect(names).toContain('app')
  })

  it('IP ranges: listed only from an address the route allows', async () => {
    const cookie = await sessionFor()
    expect(await namesFor(cookie, { 'cf-connecting-ip': '203.0.113.7' })).toContain('office')
    expect(await namesFor(cookie, { 'cf-connecting-ip': '198.51.100.7' })).not.toContain('office')
  })

  it('organization and group rules: listed once the session carries them', async () => {
    const { cookie } = await signIn(uniqueEmail('sso'))
    expect(await namesFor(cookie)).not.toContain('acme-eng')
    await editSession(cookie, { organizationId: 'org_other', groups: ['engineering'] })
    expect(await namesFor(cookie)).not.toContain('acme-eng')
    await editSession(cookie, { organizationId: 'org_acme', groups: ['engineering'], roles: [] })
    expect(await namesFor(cookie)).toContain('acme-eng')
  })

  it('maxSignInAge: listed while the sign-in is recent enough, not once it is older', async () => {
    const { cookie } = await signIn(uniqueEmail('fresh'))
    expect(await namesFor(cookie)).toContain('fresh')
    await editSession(cookie, { createdAt: Date.now() - 120_000 })
    expect(await namesFor(cookie)).not.toContain('fresh')
    // The gate agrees: it would send the person to sign in again.
    const opened = await call('/fresh/', { headers: { cookie, ...asJson } })
    expect(opened.status).toBe(401)
  })

  it('a route asking for MFA is listed only once this session has passed it', async () => {
    const { cookie } = await signIn(uniqueEmail('mfa'))
    expect(await namesFor(cookie)).not.toContain('secure')
    await editSession(cookie, { mfaAt: Date.now() })
    expect(await namesFor(cookie)).toContain('secure')
  })
})

describe('the answer', () => {
  it('a page for a browser, JSON for Accept: application/json, neither stored', async () => {
    const cookie = await sessionFor()
    const page = await call('/auth/apps', { headers: { cookie, ...asBrowser } })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('cache-control')).toBe('no-store')
    const html = await page.text()
    expect(html).toContain('Your applications')
    expect(html).toContain('href="https://gateway.test/docs/"')
    expect(html).toContain('>Handbook<')
    const api = await call('/auth/apps', { headers: { cookie, ...asJson } })
    expect(api.headers.get('content-type')).toMatch(/^application\/json/)
    expect(api.headers.get('cache-control')).toBe('no-store')
  })

  it('escapes names in the page', async () => {
    const html = await (
      await call('/auth/apps', { headers: { cookie: await sessionFor(), ...asBrowser } })
    ).text()
    expect(html).toContain('Grafana &lt;Ops&gt; &amp; &quot;Co&quot;')
    expect(html).not.toContain('<Ops>')
  })

  it('not signed in: a page goes to sign in and comes back; JSON is 401', async () => {
    const page = await call('/auth/apps', { headers: asBrowser })
    expect(page.status).toBe(302)
    expect(page.headers.get('location')).toBe('/auth/login?returnTo=%2Fauth%2Fapps')
    const api = await call('/auth/apps', { headers: asJson })
    expect(api.status).toBe(401)
    expect(api.headers.get('cache-control')).toBe('no-store')
    expect(await api.json()).toEqual({ error: 'not_signed_in', message: 'Sign in to continue.' })
    // Signing in from there lands back on the launcher.
    const { location } = await signIn(uniqueEmail('back'), '/auth/apps')
    expect(location).toBe('/auth/apps')
  })

  it('a service token or an access token is not a person here, even beside a session cookie', async () => {
    const cookie = await sessionFor()
    const tokens: Record<string, string>[] = [
      { 'gateway-client-id': 'svc_x', 'gateway-client-secret': 'whatever' },
      { authorization: 'Bearer gwat_not-a-real-token' },
    ]
    for (const headers of tokens) {
      const response = await call('/auth/apps', { headers: { ...headers, cookie, ...asJson } })
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ error: 'not_signed_in' })
    }
  })

  it('the 403 page and the sessions page link to it', async () => {
    const cookie = await sessionFor(OUTSIDER_EMAIL)
    const refused = await call('/grafana/', { headers: { cookie, ...asBrowser } })
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain('href="/auth/apps"')
    const sessions = await call('/auth/sessions', {
      headers: { cookie, ...asBrowser, 'sec-fetch-dest': 'document' },
    })
    expect(sessions.status).toBe(200)
    expect(await sessions.text()).toContain('href="/auth/apps"')
  })
})

describe('without ACCESS', () => {
  it('lists the one application the gateway fronts, named by PRODUCT_NAME', async () => {
    const cookie = await sessionFor()
    const apps = await listed(cookie, {}, { ACCESS: undefined, PRODUCT_NAME: 'Acme Wiki' })
    expect(apps).toEqual([{ route: null, title: 'Acme Wiki', url: 'https://gateway.test/' }])
  })
})

describe('with SIGN_IN_HOST', () => {
  const SETTINGS = {
    SIGN_IN_HOST: 'gateway.test',
    ALLOWED_HOSTS: 'app.gateway.test',
    ACCESS: JSON.stringify({
      routes: [
        { name: 'wiki', host: 'wiki.gateway.test', launcher: { title: 'Wiki' } },
        { name: 'app', path: '/*' },
      ],
    }),
  }

  it('lists the apps on the app hosts with absolute URLs; a route on any host once per app host', async () => {
    const apps = await listed(await sessionFor(), {}, SETTINGS)
    expect(apps).toEqual([
      { route: 'wiki', title: 'Wiki', url: 'https://wiki.gateway.test/' },
      // Not on wiki.gateway.test, which the wiki route decides, nor on the sign-in host.
      { route: 'app', title: 'app', url: 'https://app.gateway.test/' },
    ])
  })

  it('the sign-in host’s not-found page links to the launcher too', async () => {
    const page = await call('https://gateway.test/nothing', { headers: asBrowser }, SETTINGS)
    expect(page.status).toBe(404)
    expect(await page.text()).toContain('href="/auth/apps"')
  })

  it('on an app host, the launcher page is the sign-in host’s', async () => {
    const page = await call('https://app.gateway.test/auth/apps', { headers: asBrowser }, SETTINGS)
    expect(page.status).toBe(302)
    expect(page.headers.get('location')).toBe('https://gateway.test/auth/apps')
    const api = await call('https://app.gateway.test/auth/apps', { headers: asJson }, SETTINGS)
    expect(api.status).toBe(404)
  })

  it('opening a listed app goes through the handoff and lands on the origin', async () => {
    const email = uniqueEmail('handoff')
    const cookie = await sessionFor(email)
    const [wiki] = await listed(cookie, {}, SETTINGS)
    // The app host has no session yet: it sends the person to the sign-in host…
    const left = await call(wiki!.url, { headers: asBrowser }, SETTINGS)
    expect(left.status).toBe(302)
    const handoffCookie = left.headers.getSetCookie()[0]!.split(';')[0]!
    const login = await call(
      left.headers.get('location')!,
      { headers: { cookie, ...asBrowser } },
      SETTINGS,
    )
    // …which, signed in already, mints a code for the app host…
    expect(login.status).toBe(302)
    const start = await call(
      new URL(login.headers.get('location')!, 'https://gateway.test').toString(),
      { headers: { cookie, ...asBrowser } },
      SETTINGS,
    )
    expect(start.status).toBe(200)
    const html = await start.text()
    const action = /<form method="post" action="([^"]+)"/.exec(html)![1]!
    const code = /name="code" value="([^"]+)"/.exec(html)![1]!
    // …posted back to the app host, which starts its own session and returns to the app.
    const posted = await call(
      action,
      {
        method: 'POST',
        headers: {
          cookie: handoffCookie,
          origin: 'https://gateway.test',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ code }).toString(),
      },
      SETTINGS,
    )
    expect(posted.status).toBe(303)
    expect(posted.headers.get('location')).toBe('/')
    const hostCookie = posted.headers
      .getSetCookie()
      .map((line) => line.split(';')[0]!)
      .find((pair) => pair.startsWith('__Host-session='))!
    const opened = await call(wiki!.url, { headers: { cookie: hostCookie, ...asJson } }, SETTINGS)
    expect(opened.status).toBe(200)
    expect(opened.headers.get('x-origin')).toBe('demo')
    const seen = (await opened.json()) as { headers: Record<string, string> }
    expect(seen.headers['x-auth-email']).toBe(email)
    expect(seen.headers['x-auth-route']).toBe('wiki')
  })
})
