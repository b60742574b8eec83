import { describe, expect, it, vi } from 'vitest'
import {
  EMULATOR,
  armFault,
  clearFaults,
  expireEverythingFor,
  form,
  gateway,
  gatewayWith,
  json,
  latestLink,
  mailFor,
  openLink,
  pathOf,
  sessionCookieFrom,
  signIn,
  uniqueEmail,
} from './helpers'

describe('GET /auth/login', () => {
  it('shows one email form with a button for each method, carrying the returnTo', async () => {
    const response = await gateway('/auth/login?returnTo=%2Freports%3Fyear%3D2026', {
      headers: { accept: 'text/html' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/text\/html/)
    const page = await response.text()
    expect(page).toContain('<form method="post" action="/auth/magic-auth"')
    expect(page).toContain('formaction="/auth/magic-link"')
    expect(page).toContain('name="returnTo" value="/reports?year=2026"')
    expect(page).toMatch(/<label for="email">/)
  })

  it('offers only the configured methods', async () => {
    const linkOnly = await (await gatewayWith({ SIGN_IN_METHODS: 'link' }, '/auth/login')).text()
    expect(linkOnly).toContain('action="/auth/magic-link"')
    expect(linkOnly).not.toContain('/auth/magic-auth')
    const refused = await gatewayWith(
      { SIGN_IN_METHODS: 'code' },
      '/auth/magic-link',
      json({ email: uniqueEmail() }),
    )
    expect(refused.status).toBe(404)
    expect(await refused.json()).toMatchObject({ error: 'method_not_offered' })
  })

  it('drops a returnTo that leaves the site', async () => {
    const page = await (await gateway('/auth/login?returnTo=https://evil.example/')).text()
    expect(page).toContain('name="returnTo" value="/"')
    expect(page).not.toContain('evil.example')
  })

  it('explains an expired link and a failed sign-in', async () => {
    expect(await (await gateway('/auth/login?error=expired')).text()).toContain('expired')
    expect(await (await gateway('/auth/login?error=auth_failed')).text()).toContain(
      'could not sign you in',
    )
    expect(await (await gateway('/auth/login?error=<script>')).text()).not.toContain('<script>')
  })
})

describe('POST /auth/magic-link', () => {
  it('answers JSON callers with success and WorkOS emails the link', async () => {
    const email = uniqueEmail()
    const response = await gateway('/auth/magic-link', json({ email, returnTo: '/x' }))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ success: true })
    const [message] = await mailFor(email)
    expect(message?.link).toMatch(new RegExp(`^${EMULATOR}/passwordless/[^/]+/confirm$`))
  })

  it('redirects a form post to the check-email page', async () => {
    const email = uniqueEmail()
    const response = await gateway('/auth/magic-link', form({ email, returnTo: '/x' }))
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/auth/check-email')
    const page = await (await gateway('/auth/check-email')).text()
    expect(page).toContain('Check your email')
    expect(await mailFor(email)).toHaveLength(1)
  })

  it('answers the same for a new address as for a known one', async () => {
    const known = uniqueEmail('known')
    await signIn(known)
    const first = await gateway('/auth/magic-link', json({ email: known }))
    const fresh = await gateway('/auth/magic-link', json({ email: uniqueEmail('fresh') }))
    expect(first.status).toBe(fresh.status)
    expect(await first.text()).toBe(await fresh.text())
  })

  it('trims the address and folds the domain to lower case', async () => {
    const email = uniqueEmail('Mixed')
    const typed = `  ${email.replace('example.com', 'Example.COM')}  `
    expect((await gateway('/auth/magic-link', json({ email: typed }))).status).toBe(200)
    expect((await mailFor(email))[0]?.to).toBe(email)
  })

  it.each([
    ['missing', {}],
    ['not a string', { email: 42 }],
    ['no domain', { email: 'someone@' }],
    ['header injection', { email: 'a@example.com\r\nBcc: victim@example.com' }],
    ['control character', { email: 'a\u0000b@example.com' }],
    ['overlong local part', { email: `${'a'.repeat(65)}@example.com` }],
    ['overlong address', { email: `a@${'b'.repeat(250)}.com` }],
  ])('refuses an email that is %s with 400 invalid_email', async (_, body) => {
    const response = await gateway('/auth/magic-link', json(body))
    expect(response.status).toBe(400)
    const answer = (await response.json()) as { error: string; message: string }
    expect(answer.error).toBe('invalid_email')
    expect(answer.message.length).toBeGreaterThan(5)
  })

  it('shows the form again, with the problem and what was typed, for a bad form post', async () => {
    const response = await gateway('/auth/magic-link', form({ email: 'nope', returnTo: '/r' }))
    expect(response.status).toBe(400)
    const page = await response.text()
    expect(page).toContain('value="nope"')
    expect(page).toContain('name="returnTo" value="/r"')
    expect(page).toContain('role="alert"')
  })

  it('refuses malformed JSON, a JSON array and an unknown content type', async () => {
    const broken = await gateway('/auth/magic-link', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"email": ',
    })
    expect(broken.status).toBe(400)
    expect(((await broken.json()) as { error: string }).error).toBe('invalid_json')

    const array = await gateway('/auth/magic-link', json([{ email: 'a@b.co' }]))
    expect(((await array.json()) as { error: string }).error).toBe('invalid_body')

    const text = await gateway('/auth/magic-link', {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: '<email/>',
    })
    expect(text.status).toBe(415)
  })

  it('refuses an oversized body with 413', async () => {
    const response = await gateway(
      '/auth/magic-link',
      json({ email: uniqueEmail(), padding: 'x'.repeat(64 * 1024) }),
    )
    expect(response.status).toBe(413)
    expect(((await response.json()) as { error: string }).error).toBe('body_too_large')
  })

  it('refuses a form posted from another site (login CSRF)', async () => {
    const email = uniqueEmail()
    const response = await gateway(
      '/auth/magic-link',
      form({ email }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }),
    )
    expect(response.status).toBe(403)
    expect(await mailFor(email)).toHaveLength(0)
  })

  it('with EMAIL_DELIVERY=custom, mails a gateway link whose Continue spends the WorkOS link', async () => {
    const email = uniqueEmail('custom')
    const custom = { EMAIL_DELIVERY: 'custom' }
    const response = await gatewayWith(
      custom,
      '/auth/magic-link',
      json({ email, returnTo: '/after' }),
    )
    expect(response.status).toBe(200)
    const [message] = (await mailFor(email)).filter((m) => m.via === 'provider')
    expect(message?.subject).toMatch(/sign-in link/i)
    expect(message?.link).toMatch(/^https:\/\/gateway\.test\/auth\/magic\/[A-Za-z0-9_-]{43}$/)
    const page = await gatewayWith(custom, pathOf(message!.link!))
    expect(page.status).toBe(200)
    expect(await page.text()).toContain(`Continue as ${email}`)
    const continued = await gatewayWith(custom, pathOf(message!.link!), form({}))
    expect(continued.status).toBe(303)
    const workosLink = continued.headers.get('location')!
    expect(workosLink.startsWith(EMULATOR)).toBe(true)
    const signedIn = await gateway(pathOf(await openLink(workosLink)))
    expect(signedIn.headers.get('location')).toBe('/after')
    expect(sessionCookieFrom(signedIn)).toBeDefined()
  })

  it('with EMAIL_DELIVERY=custom, a provider failure is logged after an answer like any other', async () => {
    // The email goes out after the answer (its timing would tell which addresses have
    // accounts), so the provider's failure cannot change the answer: it is logged, with the
    // provider's status only, and the person asks again.
    const email = uniqueEmail()
    const logged = vi.spyOn(console, 'log')
    try {
      const response = await gatewayWith(
        { EMAIL_DELIVERY: 'custom', EMAIL_API_KEY: 're_wrong_key' },
        '/auth/magic-link',
        json({ email }),
      )
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ success: true })
      const lines = logged.mock.calls.map((call) => JSON.parse(String(call[0])))
      expect(lines).toContainEqual(
        expect.objectContaining({ event: 'email_send_failed', providerStatus: 401 }),
      )
    } finally {
      logged.mockRestore()
    }
    expect(await mailFor(email)).toHaveLength(0)
  })

  it('answers 503 with Retry-After while WorkOS fails, and works once it recovers', async () => {
    const email = uniqueEmail()
    await armFault({ method: 'POST', path: '/passwordless/sessions', status: 500, count: 2 })
    try {
      const failed = await gateway('/auth/magic-link', json({ email }))
      expect(failed.status).toBe(503)
      expect(failed.headers.get('retry-after')).toBeTruthy()
      const body = await failed.text()
      expect(body).toContain('workos_unavailable')
      expect(body).not.toMatch(/Injected|passwordless|sk_test/)
    } finally {
      await clearFaults()
    }
    expect((await gateway('/auth/magic-link', json({ email }))).status).toBe(200)
  })

  it('passes a WorkOS rate limit on as 429 with Retry-After', async () => {
    await armFault({
      method: 'POST',
      path: '/passwordless/sessions',
      status: 429,
      headers: { 'Retry-After': '0' },
      body: { message: 'Too many requests' },
      count: 2,
    })
    try {
      const response = await gateway('/auth/magic-link', json({ email: uniqueEmail() }))
      expect(response.status).toBe(429)
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    } finally {
      await clearFaults()
    }
  })
})

describe('GET /auth/callback', () => {
  it('signs the person in and sends them to where they were going', async () => {
    const { cookie, location, email } = await signIn(uniqueEmail(), '/deep/page?tab=2')
    expect(location).toBe('/deep/page?tab=2')
    const me = await gateway('/auth/me', { headers: { cookie } })
    expect(me.status).toBe(200)
    const body = (await me.json()) as { user: { email: string; id: string } }
    expect(body.user.email).toBe(email)
    expect(body.user.id).toMatch(/^prof_/)
  })

  it('sets a host-only, HttpOnly, Secure, SameSite=Lax cookie', async () => {
    const email = uniqueEmail()
    await gateway('/auth/magic-link', json({ email }))
    const response = await gateway(pathOf(await openLink(await latestLink(email))))
    const header = response.headers.getSetCookie().find((h) => h.startsWith('__Host-session='))!
    expect(header).toMatch(/; Path=\//)
    expect(header).toMatch(/; HttpOnly/)
    expect(header).toMatch(/; Secure/)
    expect(header).toMatch(/; SameSite=Lax/)
    expect(header).not.toMatch(/Domain=/i)
  })

  it('sends a reused code back to the form with error=expired', async () => {
    const email = uniqueEmail()
    await gateway('/auth/magic-link', json({ email, returnTo: '/r' }))
    const callback = pathOf(await openLink(await latestLink(email)))
    expect((await gateway(callback)).status).toBe(302)
    const replay = await gateway(callback)
    expect(replay.headers.get('location')).toBe('/auth/login?error=expired&returnTo=%2Fr')
    expect(sessionCookieFrom(replay)).toBeUndefined()
  })

  it('treats a link opened twice as expired (the first GET spent it)', async () => {
    const email = uniqueEmail()
    await gateway('/auth/magic-link', json({ email }))
    const link = await latestLink(email)
    await openLink(link) // a mail scanner
    const second = await gateway(pathOf(await openLink(link)))
    expect(second.headers.get('location')).toBe('/auth/login?error=expired')
  })

  it('treats an expired link and an expired code as expired', async () => {
    const linkOwner = uniqueEmail()
    await gateway('/auth/magic-link', json({ email: linkOwner }))
    const link = await latestLink(linkOwner)
    await expireEverythingFor(linkOwner)
    const fromLink = await gateway(pathOf(await openLink(link)))
    expect(fromLink.headers.get('location')).toBe('/auth/login?error=expired')

    const codeOwner = uniqueEmail()
    await gateway('/auth/magic-link', json({ email: codeOwner }))
    const callback = pathOf(await openLink(await latestLink(codeOwner)))
    await expireEverythingFor(codeOwner)
    const fromCode = await gateway(callback)
    expect(fromCode.headers.get('location')).toBe('/auth/login?error=expired')
  })

  it('refuses a state that was altered, without spending the code', async () => {
    const email = uniqueEmail()
    await gateway('/auth/magic-link', json({ email, returnTo: '/safe' }))
    const callback = new URL(await openLink(await latestLink(email)))
    const state = callback.searchParams.get('state')!
    const flipped = state.slice(0, 20) + (state[20] === 'A' ? 'B' : 'A') + state.slice(21)
    const forged = btoa(JSON.stringify({ returnTo: '//evil.example', issuedAt: Date.now() / 1000 }))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
    for (const bad of [forged, flipped, state.slice(0, -4), '', 'x']) {
      callback.searchParams.set('state', bad)
      const response = await gateway(pathOf(callback.toString()))
      expect(response.headers.get('location')).toBe('/auth/login?error=auth_failed')
      expect(sessionCookieFrom(response)).toBeUndefined()
    }
    // The genuine state still works: the forged attempts did not spend the code.
    callback.searchParams.set('state', state)
    const genuine = await gateway(pathOf(callback.toString()))
    expect(genuine.headers.get('location')).toBe('/safe')
  })

  it('answers a callback with no code, or a made-up one, with auth_failed or expired', async () => {
    const none = await gateway('/auth/callback')
    expect(none.headers.get('location')).toBe('/auth/login?error=auth_failed')
    const email = uniqueEmail()
    await gateway('/auth/magic-link', json({ email }))
    const callback = new URL(await openLink(await latestLink(email)))
    callback.searchParams.set('code', 'made-up')
    const madeUp = await gateway(pathOf(callback.toString()))
    expect(madeUp.headers.get('location')).toBe('/auth/login?error=expired')
  })

  it('answers a WorkOS outage during the exchange with a try-again page, and the retry works', async () => {
    const email = uniqueEmail()
    await gateway('/auth/magic-link', json({ email }))
    const callback = pathOf(await openLink(await latestLink(email)))
    await armFault({ path: '/sso/token', status: 502, count: 1 })
    try {
      const response = await gateway(callback, { headers: { accept: 'text/html' } })
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBeTruthy()
      expect(sessionCookieFrom(response)).toBeUndefined()
      const page = await response.text()
      expect(page).toContain('try again')
      expect(page).toContain(`href="${callback.replace(/&/g, '&amp;')}"`)
      expect(page).not.toMatch(/Injected|sso\/token|GenericServer/)
    } finally {
      await clearFaults()
    }
    // The fault answered before the route ran, so the code is still good.
    expect(sessionCookieFrom(await gateway(callback))).toBeDefined()
  })
})
