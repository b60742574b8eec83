import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  EMULATOR,
  armFault,
  clearFaults,
  cookieFrom,
  expireEverythingFor,
  form,
  fromAnotherBrowser,
  gateway,
  gatewayWith,
  json,
  latestCode,
  mailFor,
  sessionCookieFrom,
  signInWithCode,
  uniqueEmail,
} from './helpers'

afterEach(clearFaults)

async function requestCode(email: string, returnTo = '/') {
  const response = await gateway('/auth/magic-auth', json({ email, returnTo }))
  expect(response.status).toBe(200)
  return { pending: cookieFrom(response, '__Host-magic-auth')!, code: await latestCode(email) }
}

const verify = (body: Record<string, unknown>, cookie?: string) =>
  gateway('/auth/magic-auth/verify', json(body, cookie ? { cookie } : {}))

/** A 6-digit code that is not `code`. */
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0')

describe('Magic Auth for JSON callers', () => {
  it('sends a code, verifies it, and signs in with the same session and proxy', async () => {
    const email = uniqueEmail('code')
    const { pending, code } = await requestCode(email, '/dashboard?tab=1')
    expect(code).toMatch(/^\d{6}$/)
    const response = await verify({ email, code }, pending)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ success: true, returnTo: '/dashboard?tab=1' })
    const cookie = sessionCookieFrom(response)!
    const me = (await (await gateway('/auth/me', { headers: { cookie } })).json()) as {
      user: { id: string; email: string }
      session: { method: string }
    }
    expect(me.user.id).toMatch(/^user_/)
    expect(me.user.email).toBe(email)
    expect(me.session.method).toBe('magic_auth')
    const proxied = (await (await gateway('/api/who', { headers: { cookie } })).json()) as {
      headers: Record<string, string>
    }
    expect(proxied.headers['x-auth-user']).toBe(me.user.id)
    expect(proxied.headers['x-auth-email']).toBe(email)
  })

  it('accepts a code typed with spaces or a dash', async () => {
    const email = uniqueEmail()
    const { code } = await requestCode(email)
    const response = await verify({ email, code: `${code.slice(0, 3)} ${code.slice(3)}` })
    expect(response.status).toBe(200)
  })

  it('keeps the same user across sign-ins', async () => {
    const email = uniqueEmail()
    const first = await signInWithCode(email)
    const second = await signInWithCode(email)
    const idOf = async (cookie: string) =>
      (
        (await (await gateway('/auth/me', { headers: { cookie } })).json()) as {
          user: { id: string }
        }
      ).user.id
    expect(await idOf(second.cookie)).toBe(await idOf(first.cookie))
  })

  it.each([
    ['a wrong code', async (email: string, code: string) => wrong(code)],
    [
      'a code WorkOS has expired',
      async (email: string, code: string) => {
        await expireEverythingFor(email)
        return code
      },
    ],
  ])('answers %s with 400 invalid_code and a message to act on', async (_, prepare) => {
    const email = uniqueEmail()
    const { code } = await requestCode(email)
    const response = await verify({ email, code: await prepare(email, code) })
    expect(response.status).toBe(400)
    const body = (await response.json()) as { error: string; message: string }
    expect(body.error).toBe('invalid_code')
    expect(body.message).toMatch(/newest code/i)
    expect(sessionCookieFrom(response)).toBeUndefined()
  })

  it('answers a code replayed after it signed in with invalid_code, and no session', async () => {
    const email = uniqueEmail()
    const sent = await gateway('/auth/magic-auth', json({ email }))
    const { pending } = (await sent.json()) as { pending: string }
    const code = await latestCode(email)
    expect(
      (await fromAnotherBrowser('/auth/magic-auth/verify', json({ pending, code }))).status,
    ).toBe(200)
    const replay = await fromAnotherBrowser('/auth/magic-auth/verify', json({ pending, code }))
    expect(replay.status).toBe(400)
    expect(await replay.json()).toMatchObject({ error: 'invalid_code' })
    expect(sessionCookieFrom(replay)).toBeUndefined()
  })

  it('answers a code asked for more than 10 minutes ago with 400 code_expired', async () => {
    const email = uniqueEmail()
    const { code } = await requestCode(email)
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 11 * 60_000)
      const response = await verify({ code })
      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ error: 'code_expired' })
    } finally {
      vi.useRealTimers()
    }
  })

  it('burns the code after five wrong guesses, even the right code after them', async () => {
    const email = uniqueEmail()
    const { code } = await requestCode(email)
    const answers: string[] = []
    for (let i = 0; i < 5; i++) {
      answers.push(
        ((await (await verify({ email, code: wrong(code) })).json()) as { error: string }).error,
      )
    }
    expect(answers).toEqual(Array(5).fill('invalid_code'))
    const right = await verify({ email, code })
    expect(right.status).toBe(400)
    expect(await right.json()).toMatchObject({ error: 'too_many_attempts' })
  })

  it('refuses a code that is not 6 digits without asking WorkOS', async () => {
    await requestCode(uniqueEmail())
    await armFault({ path: '/user_management/authenticate', status: 500, count: 5 })
    const response = await verify({ code: 'abc123' })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'invalid_code' })
    const faults = (await (await fetch(`${EMULATOR}/__faults`)).json()) as {
      faults: { count: number }[]
    }
    expect(faults.faults[0]?.count).toBe(5)
  })

  it('refuses a malformed email with 400 invalid_email', async () => {
    await requestCode(uniqueEmail())
    expect(await (await verify({ email: 'not an address', code: '123456' })).json()).toMatchObject({
      error: 'invalid_email',
    })
    const bad = await gateway('/auth/magic-auth', json({ email: 'x@\r\nbcc' }))
    expect(bad.status).toBe(400)
  })

  it('refuses a code without the pending cookie or token: 400 code_not_requested', async () => {
    const email = uniqueEmail()
    const { code } = await requestCode(email)
    const response = await fromAnotherBrowser('/auth/magic-auth/verify', json({ email, code }))
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'code_not_requested' })
    // Naming another address than the one the code was asked for is refused the same way.
    const other = await verify({ email: uniqueEmail(), code })
    expect(await other.json()).toMatchObject({ error: 'code_not_requested' })
    // And the code is still good where it was asked for.
    expect((await verify({ code })).status).toBe(200)
  })

  it('gives JSON clients a sealed token that stands in for the cookie', async () => {
    const email = uniqueEmail()
    const sent = await fromAnotherBrowser('/auth/magic-auth', json({ email }))
    const body = (await sent.json()) as { success: boolean; pending: string }
    expect(body.success).toBe(true)
    expect(body.pending).not.toContain(email.split('@')[0])
    const response = await fromAnotherBrowser(
      '/auth/magic-auth/verify',
      json({ pending: body.pending, code: await latestCode(email) }),
    )
    expect(response.status).toBe(200)
    expect(sessionCookieFrom(response)).toBeDefined()
  })

  it('does not reveal that an address has no account when sign-up is closed', async () => {
    const domain = `closed-${Date.now()}.example`
    await fetch(`${EMULATOR}/__signup-blocked`, json({ domain }))
    const unknown = await gateway('/auth/magic-auth', json({ email: `new@${domain}` }))
    const known = await gateway('/auth/magic-auth', json({ email: uniqueEmail() }))
    expect(unknown.status).toBe(known.status)
    expect(Object.keys((await unknown.json()) as object)).toEqual(
      Object.keys((await known.json()) as object),
    )
    expect(await mailFor(`new@${domain}`)).toHaveLength(0)
    const page = await gateway('/auth/magic-auth', form({ email: `new2@${domain}` }))
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe('/auth/code')
  })

  it('passes a WorkOS rate limit on at once as 429 with its Retry-After', async () => {
    await armFault({
      path: '/user_management/magic_auth',
      status: 429,
      headers: { 'Retry-After': '60' },
      body: { message: 'Too many requests', code: 'rate_limit_exceeded' },
    })
    const started = Date.now()
    const response = await gateway('/auth/magic-auth', json({ email: uniqueEmail() }))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('60')
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('maps an OAuth invalid_grant from WorkOS to a wrong-code answer', async () => {
    const email = uniqueEmail()
    const { code } = await requestCode(email)
    await armFault({
      path: '/user_management/authenticate',
      status: 400,
      body: { error: 'invalid_grant', error_description: 'The code is invalid.' },
    })
    const response = await verify({ email, code })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'invalid_code' })
  })

  it('answers 503 with Retry-After while WorkOS fails, for both steps', async () => {
    const email = uniqueEmail()
    await armFault({ path: '/user_management/magic_auth', status: 500, count: 2 })
    const send = await gateway('/auth/magic-auth', json({ email }))
    expect(send.status).toBe(503)
    expect(send.headers.get('retry-after')).toBeTruthy()
    await clearFaults()
    const { code } = await requestCode(email)
    await armFault({ path: '/user_management/authenticate', status: 502, count: 2 })
    const check = await verify({ email, code })
    expect(check.status).toBe(503)
    await clearFaults()
    // The fault answered before the route ran: the code is still good.
    expect((await verify({ email, code })).status).toBe(200)
  })

  it('with EMAIL_DELIVERY=custom, the gateway mails the code itself (text and HTML)', async () => {
    const email = uniqueEmail('custom-code')
    const response = await gatewayWith(
      { EMAIL_DELIVERY: 'custom' },
      '/auth/magic-auth',
      json({ email }),
    )
    expect(response.status).toBe(200)
    const ours = (await mailFor(email)).find((m) => m.via === 'provider')
    expect(ours?.code).toMatch(/^\d{6}$/)
    expect(ours?.subject).toContain(ours!.code!)
    expect((await verify({ email, code: ours!.code! })).status).toBe(200)
  })
})

describe('Magic Auth in a browser (no JavaScript)', () => {
  it('form → code page that remembers the email → code typed → signed in at returnTo', async () => {
    const email = uniqueEmail('browser')
    const sent = await gateway('/auth/magic-auth', form({ email, returnTo: '/reports' }))
    expect(sent.status).toBe(303)
    expect(sent.headers.get('location')).toBe('/auth/code')
    const pending = cookieFrom(sent, '__Host-magic-auth')!
    expect(pending).toBeDefined()
    // The address rides in a sealed cookie, not in the URL or the cookie in clear.
    expect(pending).not.toContain(email)
    expect(pending).not.toContain(encodeURIComponent(email))

    const page = await gateway('/auth/code', { headers: { cookie: pending, accept: 'text/html' } })
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain(email)
    expect(html).toContain('autocomplete="one-time-code"')
    expect(html).toContain('inputmode="numeric"')
    expect(html).toMatch(/<label for="code">/)

    const signedIn = await gateway(
      '/auth/magic-auth/verify',
      form({ code: await latestCode(email) }, { cookie: pending }),
    )
    expect(signedIn.status).toBe(303)
    expect(signedIn.headers.get('location')).toBe('/reports')
    expect(sessionCookieFrom(signedIn)).toBeDefined()
    expect(signedIn.headers.getSetCookie().join()).toMatch(/__Host-magic-auth=; Max-Age=0/)
  })

  it('shows the code page again with the problem for a wrong code', async () => {
    const email = uniqueEmail()
    const sent = await gateway('/auth/magic-auth', form({ email }))
    const pending = cookieFrom(sent, '__Host-magic-auth')!
    const response = await gateway(
      '/auth/magic-auth/verify',
      form({ code: wrong(await latestCode(email)) }, { cookie: pending }),
    )
    expect(response.status).toBe(400)
    const html = await response.text()
    expect(html).toContain('That code is not right')
    expect(html).toContain(email)
    expect(html).toContain('Send a new code')
  })

  it('sends a code page visit without the pending cookie back to the sign-in form', async () => {
    const response = await fromAnotherBrowser('/auth/code', { headers: { accept: 'text/html' } })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('/auth/login?error=code_expired')
  })

  it('refuses a tampered pending cookie', async () => {
    const email = uniqueEmail()
    const sent = await gateway('/auth/magic-auth', form({ email }))
    const pending = cookieFrom(sent, '__Host-magic-auth')!
    const tampered = pending.slice(0, 30) + (pending[30] === 'A' ? 'B' : 'A') + pending.slice(31)
    const page = await gateway('/auth/code', { headers: { cookie: tampered } })
    expect(page.status).toBe(302)
  })
})
