import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { totpCode } from '../emulator/totp.ts'
import { sha256 } from '../src/crypto'
import worker from '../src/index'
import { EMULATOR, GATEWAY, form, json, sessionKvKeyOf, signIn, uniqueEmail } from './helpers'

// The second factor (TOTP, README "Enterprise SSO, organizations and a second factor") through the real Worker: a route whose
// rule asks for `mfa` sends a person without it to /auth/mfa, which enrols (QR code and secret)
// or asks for the current code; the code is computed from the secret WorkOS handed out, as an
// authenticator app would, and checked by the emulator's real RFC 6238 TOTP.

const ADMIN_TOKEN = 'test-admin-token-0123456789-abcdefghijkl'
const ACCESS = JSON.stringify({
  routes: [
    { name: 'vault', path: '/vault/*', allow: [{ mfa: true }] },
    { name: 'app', path: '/*' },
  ],
})

interface Echo {
  path: string
  headers: Record<string, string>
}

const randomByte = () => Math.floor(Math.random() * 256)

/** A request through the Worker with ACCESS set, from a fresh client address unless given one. */
async function call(path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext()
  const request = new Request(`${GATEWAY}${path}`, { redirect: 'manual', ...init })
  if (!request.headers.has('cf-connecting-ip'))
    request.headers.set('cf-connecting-ip', `198.18.${randomByte()}.${randomByte()}`)
  const response = await worker.fetch(request, { ...env, ACCESS } as Env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

const asBrowser = (cookie: string) => ({ headers: { cookie, accept: 'text/html' } })
const asApi = (cookie: string) => ({ headers: { cookie, accept: 'application/json' } })
const verify = (cookie: string, body: Record<string, unknown>, headers = {}) =>
  call('/auth/mfa/verify', json(body, { cookie, ...headers }))
const verifyForm = (cookie: string, fields: Record<string, string>) =>
  call('/auth/mfa/verify', form(fields, { cookie }))

/** A code the factor does not accept now (one step of drift either side is accepted). */
async function wrongCode(secret: string): Promise<string> {
  const now = Date.now()
  const accepted = await Promise.all(
    [-1, 0, 1].map((step) => totpCode(secret, now + step * 30_000)),
  )
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0')
    if (!accepted.includes(candidate)) return candidate
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Waits, when needed, so the next few seconds stay inside one 10-second rate-limit window and
 * one 30-second TOTP step (the per-person guess count is kept per step).
 */
async function startOfWindows() {
  while (Date.now() % 10_000 > 6_000 || Date.now() % 30_000 > 25_000) await sleep(200)
}

async function me(cookie: string) {
  const response = await call('/auth/me', asApi(cookie))
  expect(response.status).toBe(200)
  return ((await response.json()) as { session: { mfa: boolean } }).session
}

/** The enrol page's secret (shown as text for people who cannot scan). */
function secretOn(page: string): string {
  const secret = /<code id="secret">([A-Z2-7]+)<\/code>/.exec(page)?.[1]
  if (!secret) throw new Error('no secret on the page')
  return secret
}

/** Enrols by JSON and confirms with the current code; returns the secret. */
async function enrolAndConfirm(cookie: string): Promise<string> {
  const enrolled = await call('/auth/mfa/enroll', json({}, { cookie }))
  expect(enrolled.status).toBe(200)
  const { secret } = (await enrolled.json()) as { secret: string }
  const confirmed = await verify(cookie, { code: await totpCode(secret) })
  expect(confirmed.status).toBe(200)
  return secret
}

describe('a route that asks for a second factor', () => {
  it('a navigation goes to /auth/mfa?returnTo=…, an API call gets 401 mfa_required', async () => {
    const { cookie } = await signIn()
    const page = await call('/vault/keys?id=7', asBrowser(cookie))
    expect(page.status).toBe(302)
    expect(page.headers.get('location')).toBe('/auth/mfa?returnTo=%2Fvault%2Fkeys%3Fid%3D7')
    const api = await call('/vault/keys', asApi(cookie))
    expect(api.status).toBe(401)
    expect(api.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await api.json()).toMatchObject({ error: 'mfa_required' })
    // A route that does not ask for it is proxied as before.
    const other = await call('/reports', asApi(cookie))
    expect(other.status).toBe(200)
    expect(((await other.json()) as Echo).headers['x-auth-route']).toBe('app')
  })

  it('without a session: /auth/mfa sends a browser to sign in, JSON gets 401 not_signed_in', async () => {
    const page = await call('/auth/mfa?returnTo=%2Fvault%2Fx', { headers: { accept: 'text/html' } })
    expect(page.status).toBe(302)
    expect(page.headers.get('location')).toBe(
      `/auth/login?returnTo=${encodeURIComponent('/auth/mfa?returnTo=%2Fvault%2Fx')}`,
    )
    const enrol = await call('/auth/mfa/enroll', json({}))
    expect(enrol.status).toBe(401)
    expect(await enrol.json()).toMatchObject({ error: 'not_signed_in' })
    const code = await call('/auth/mfa/verify', json({ code: '123456' }))
    expect(code.status).toBe(401)
    const posted = await call('/auth/mfa/verify', form({ code: '123456', returnTo: '/vault/x' }))
    expect(posted.status).toBe(303)
    expect(posted.headers.get('location')).toMatch(/^\/auth\/login\?returnTo=/)
  })
})

describe('enrolment and the code', () => {
  it('GET /auth/mfa enrols: a QR code (data: URL) and the secret as text, and a code form', async () => {
    const { cookie } = await signIn()
    const page = await call('/auth/mfa?returnTo=%2Fvault%2Fx', asBrowser(cookie))
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('cache-control')).toBe('no-store')
    const html = await page.text()
    expect(html).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+"/)
    expect(secretOn(html)).toMatch(/^[A-Z2-7]{32}$/)
    expect(html).toContain('action="/auth/mfa/verify"')
    expect(html).toContain('name="returnTo" value="/vault/x"')
  })

  it('JSON: enrol → secret, uri, qrCode; the current code marks the session (me, vault, amr)', async () => {
    const email = uniqueEmail('mfa-json')
    const { cookie } = await signIn(email)
    const enrolled = await call('/auth/mfa/enroll', json({}, { cookie }))
    expect(enrolled.status).toBe(200)
    const body = (await enrolled.json()) as { secret: string; uri: string; qrCode: string }
    expect(body.secret).toMatch(/^[A-Z2-7]+$/)
    expect(body.uri).toMatch(/^otpauth:\/\/totp\//)
    expect(new URL(body.uri).searchParams.get('secret')).toBe(body.secret)
    expect(decodeURIComponent(body.uri)).toContain(email)
    expect(body.qrCode).toMatch(/^data:image\//)
    expect((await me(cookie)).mfa).toBe(false)

    const verified = await verify(cookie, {
      code: await totpCode(body.secret),
      returnTo: '/vault/a',
    })
    expect(verified.status).toBe(200)
    expect(await verified.json()).toEqual({ success: true, returnTo: '/vault/a' })

    expect((await me(cookie)).mfa).toBe(true)
    const vault = await call('/vault/a', asApi(cookie))
    expect(vault.status).toBe(200)
    const seen = (await vault.json()) as Echo
    expect(seen.path).toBe('/vault/a')
    expect(seen.headers['x-auth-route']).toBe('vault')
    const claims = decodeJwt(seen.headers['x-auth-assertion']!)
    expect(claims.amr).toEqual(['email', 'mfa'])
    // And a navigation to /auth/mfa now goes straight back.
    const again = await call('/auth/mfa?returnTo=%2Fvault%2Fa', asBrowser(cookie))
    expect(again.status).toBe(302)
    expect(again.headers.get('location')).toBe('/vault/a')
  })

  it('a wrong code: 400 invalid_code, and the session is not marked', async () => {
    const { cookie } = await signIn()
    const enrolled = await call('/auth/mfa/enroll', json({}, { cookie }))
    const { secret } = (await enrolled.json()) as { secret: string }
    for (const code of [await wrongCode(secret), '12345', 'abcdef', '']) {
      const refused = await verify(cookie, { code })
      expect(refused.status).toBe(400)
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await refused.json()).toMatchObject({ error: 'invalid_code' })
    }
    expect((await me(cookie)).mfa).toBe(false)
    expect((await call('/vault/a', asApi(cookie))).status).toBe(401)
  })

  it('forms: the enrol page’s code → 303 to returnTo; a wrong one → the page again, 400', async () => {
    const { cookie } = await signIn()
    const html = await (await call('/auth/mfa?returnTo=%2Fvault%2Fq', asBrowser(cookie))).text()
    const secret = secretOn(html)
    const wrong = await verifyForm(cookie, { code: await wrongCode(secret), returnTo: '/vault/q' })
    expect(wrong.status).toBe(400)
    expect(wrong.headers.get('content-type')).toMatch(/^text\/html/)
    const wrongPage = await wrong.text()
    expect(wrongPage).toContain('That code is not right')
    expect(wrongPage).toContain('name="returnTo" value="/vault/q"')
    // Still enrolling: the page offers the QR code again.
    expect(wrongPage).toContain('href="/auth/mfa?returnTo=%2Fvault%2Fq"')

    const right = await verifyForm(cookie, { code: await totpCode(secret), returnTo: '/vault/q' })
    expect(right.status).toBe(303)
    expect(right.headers.get('location')).toBe('/vault/q')
    expect((await call('/vault/q', asApi(cookie))).status).toBe(200)
  })

  it('a form posted from another site is refused (CSRF)', async () => {
    const { cookie } = await signIn()
    const response = await call(
      '/auth/mfa/verify',
      form({ code: '123456' }, { cookie, origin: 'https://evil.example' }),
    )
    expect(response.status).toBe(403)
  })

  it('a new session of the same person types a code: no QR, no second enrolment', async () => {
    const email = uniqueEmail('mfa-again')
    const first = await signIn(email)
    const secret = await enrolAndConfirm(first.cookie)

    const second = await signIn(email)
    expect(second.cookie).not.toBe(first.cookie)
    expect((await me(second.cookie)).mfa).toBe(false)
    expect((await call('/vault/b', asBrowser(second.cookie))).status).toBe(302)
    const page = await (
      await call('/auth/mfa?returnTo=%2Fvault%2Fb', asBrowser(second.cookie))
    ).text()
    expect(page).toContain('Enter your authenticator code')
    expect(page).not.toContain('<img')
    expect(page).not.toContain('id="secret"')
    const enrolAgain = await call('/auth/mfa/enroll', json({}, { cookie: second.cookie }))
    expect(enrolAgain.status).toBe(409)
    expect(await enrolAgain.json()).toMatchObject({ error: 'mfa_already_enrolled' })

    // The next step's code (one step of drift is accepted): a code already used is not taken twice.
    const code = await totpCode(secret, Date.now() + 30_000)
    const verified = await verifyForm(second.cookie, { code, returnTo: '/vault/b' })
    expect(verified.status).toBe(303)
    expect(verified.headers.get('location')).toBe('/vault/b')
    expect((await me(second.cookie)).mfa).toBe(true)
  })

  it('a code is accepted once: the same code again, even in another session, is refused', async () => {
    const email = uniqueEmail('mfa-replay')
    const first = await signIn(email)
    const enrolled = await call('/auth/mfa/enroll', json({}, { cookie: first.cookie }))
    const { secret } = (await enrolled.json()) as { secret: string }
    const code = await totpCode(secret)
    expect((await verify(first.cookie, { code })).status).toBe(200)

    const second = await signIn(email)
    const replayed = await verify(second.cookie, { code })
    expect(replayed.status).toBe(400)
    expect(await replayed.json()).toMatchObject({ error: 'invalid_code' })
    expect((await me(second.cookie)).mfa).toBe(false)
  })

  it('admin reset: the person enrols again on the next visit', async () => {
    const email = uniqueEmail('mfa-reset')
    const first = await signIn(email)
    await enrolAndConfirm(first.cookie)

    const refused = await call(
      '/auth/admin/mfa/reset',
      json({ email }, { authorization: 'Bearer wrong-token' }),
    )
    expect(refused.status).toBe(401)
    const reset = await call(
      '/auth/admin/mfa/reset',
      json({ email: email.toUpperCase() }, { authorization: `Bearer ${ADMIN_TOKEN}` }),
    )
    expect(reset.status).toBe(200)
    expect(await reset.json()).toEqual({ success: true, reset: true })
    const none = await call(
      '/auth/admin/mfa/reset',
      json({ email }, { authorization: `Bearer ${ADMIN_TOKEN}` }),
    )
    expect(await none.json()).toEqual({ success: true, reset: false })

    const second = await signIn(email)
    const page = await (
      await call('/auth/mfa?returnTo=%2Fvault%2Fc', asBrowser(second.cookie))
    ).text()
    expect(page).toContain('Set up your authenticator app')
    const secret = secretOn(page)
    const verified = await verify(second.cookie, { code: await totpCode(secret) })
    expect(verified.status).toBe(200)
  })

  it('the factor gone at WorkOS: the person is asked to enrol again, not told the code is wrong', async () => {
    const email = uniqueEmail('mfa-gone')
    const first = await signIn(email)
    const secret = await enrolAndConfirm(first.cookie)
    // Deleted behind the gateway's back (the WorkOS dashboard; an emulator restarted under
    // `npm run dev` while KV kept the factor's id).
    const stored = await env.SESSIONS.get(`mfa-factor:${await sha256(email)}`, 'json')
    const { factorId } = stored as { factorId: string }
    const deleted = await fetch(`${EMULATOR}/auth/factors/${factorId}`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer sk_test_emulator' },
    })
    expect(deleted.status).toBe(200)

    const second = await signIn(email)
    const code = await totpCode(secret, Date.now() + 30_000)
    const api = await verify(second.cookie, { code })
    expect(api.status).toBe(400)
    expect(await api.json()).toMatchObject({ error: 'mfa_not_enrolled' })
    const posted = await verifyForm(second.cookie, { code, returnTo: '/vault/d' })
    expect(posted.status).toBe(303)
    expect(posted.headers.get('location')).toBe('/auth/mfa?returnTo=%2Fvault%2Fd')
    const page = await (
      await call('/auth/mfa?returnTo=%2Fvault%2Fd', asBrowser(second.cookie))
    ).text()
    expect(page).toContain('Set up your authenticator app')
  })
})

describe('enrolment needs a fresh sign-in', () => {
  /** A first-factor session whose sign-in was `minutes` ago (a cookie stolen later, say). */
  async function signedInAgo(minutes: number) {
    const { cookie, email } = await signIn()
    const key = await sessionKvKeyOf(cookie)
    const record = JSON.parse((await env.SESSIONS.get(key, 'text'))!) as { createdAt: number }
    const createdAt = Date.now() - minutes * 60_000
    await env.SESSIONS.put(key, JSON.stringify({ ...record, createdAt }), { expirationTtl: 3600 })
    return { cookie, email }
  }

  it('a stolen hour-old first-factor session cannot enrol its own authenticator', async () => {
    const { cookie } = await signedInAgo(60)
    const enrol = await call('/auth/mfa/enroll', json({}, { cookie }))
    expect(enrol.status).toBe(401)
    const body = (await enrol.json()) as Record<string, unknown>
    expect(body).toMatchObject({ error: 'reauthentication_required' })
    expect(body).not.toHaveProperty('secret')
    // The page sends the person to sign in again, and back here afterwards.
    const page = await call('/auth/mfa?returnTo=%2Fvault%2Fx', asBrowser(cookie))
    expect(page.status).toBe(302)
    const back = encodeURIComponent('/auth/mfa?returnTo=%2Fvault%2Fx')
    expect(page.headers.get('location')).toBe(`/auth/login?returnTo=${back}&reauth=1`)
    const login = await call(page.headers.get('location')!, asBrowser(cookie))
    expect(login.status).toBe(200)
    expect(await login.text()).toContain('Setting up a second factor needs a recent sign-in')
    // No factor was made for it: nothing to type a code against.
    const guessed = await verify(cookie, { code: '123456' })
    expect(guessed.status).toBe(400)
    expect(await guessed.json()).toMatchObject({ error: 'mfa_not_enrolled' })
    expect((await me(cookie)).mfa).toBe(false)
  })

  it('a sign-in within the last 10 minutes enrols; one just past it does not', async () => {
    const recent = await signedInAgo(9)
    const enrolled = await call('/auth/mfa/enroll', json({}, { cookie: recent.cookie }))
    expect(enrolled.status).toBe(200)
    expect(((await enrolled.json()) as { secret: string }).secret).toMatch(/^[A-Z2-7]+$/)
    const page = await call('/auth/mfa?returnTo=%2Fvault%2Fx', asBrowser(recent.cookie))
    expect(page.status).toBe(200)
    const older = await signedInAgo(11)
    expect((await call('/auth/mfa/enroll', json({}, { cookie: older.cookie }))).status).toBe(401)
  })

  it('an enrolled person’s old session still types its code (no fresh sign-in for that)', async () => {
    const email = uniqueEmail('mfa-old-session')
    const secret = await enrolAndConfirm((await signIn(email)).cookie)
    const { cookie } = await signIn(email)
    const key = await sessionKvKeyOf(cookie)
    const record = JSON.parse((await env.SESSIONS.get(key, 'text'))!) as { createdAt: number }
    await env.SESSIONS.put(key, JSON.stringify({ ...record, createdAt: Date.now() - 3_600_000 }), {
      expirationTtl: 3600,
    })
    const page = await call('/auth/mfa?returnTo=%2Fvault%2Fy', asBrowser(cookie))
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('Enter your authenticator code')
    const code = await totpCode(secret, Date.now() + 30_000)
    expect((await verify(cookie, { code })).status).toBe(200)
  })
})

describe('guessing', () => {
  it('per person: 5 wrong codes per 30-second step, then too_many_attempts, even for the right code', async () => {
    const { cookie } = await signIn()
    const enrolled = await call('/auth/mfa/enroll', json({}, { cookie }))
    const { secret } = (await enrolled.json()) as { secret: string }
    const wrong = await wrongCode(secret)
    await startOfWindows()
    const errors: string[] = []
    for (let i = 0; i < 6; i++) {
      const response = await verify(cookie, { code: wrong })
      errors.push(((await response.json()) as { error: string }).error)
    }
    expect(errors).toEqual([...Array(5).fill('invalid_code'), 'too_many_attempts'])
    const right = await verify(cookie, { code: await totpCode(secret) })
    expect(right.status).toBe(400)
    const body = (await right.json()) as { error: string; message: string }
    expect(body.error).toBe('too_many_attempts')
    expect(body.message).not.toMatch(/send/i)
    expect((await me(cookie)).mfa).toBe(false)
  })

  it('per client: 10 guesses per 10 seconds, then 429 with Retry-After (a page for a form)', async () => {
    const ip = { 'cf-connecting-ip': '203.0.113.77' }
    // Three people, so the per-person count is not what stops them.
    const people = await Promise.all([signIn(), signIn(), signIn()])
    for (const { cookie } of people)
      expect((await call('/auth/mfa/enroll', json({}, { cookie }))).status).toBe(200)
    await startOfWindows()
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) {
      const { cookie } = people[Math.floor(i / 4)]!
      statuses.push((await verify(cookie, { code: '000000' }, ip)).status)
    }
    const limited = await verify(people[2]!.cookie, { code: '000000' }, ip)
    expect(statuses).toEqual(Array(10).fill(400))
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('10')
    expect(await limited.json()).toMatchObject({ error: 'too_many_attempts' })
    const page = await call(
      '/auth/mfa/verify',
      form({ code: '000000' }, { cookie: people[2]!.cookie, ...ip }),
    )
    expect(page.status).toBe(429)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
  })
})
