import { afterEach, describe, expect, it } from 'vitest'
import {
  armFault,
  clearFaults,
  cookieFrom,
  gateway,
  gatewayWith,
  json,
  latestCode,
  latestLink,
  mailFor,
  openLink,
  pathOf,
  sessionCookieFrom,
  uniqueEmail,
} from './helpers'

// Every WorkOS call the gateway makes, under every fault: the person gets a clear "try again"
// (503, or 429, with Retry-After), no session is half-made, no email goes out twice for one
// click, and the next attempt after the fault clears works.

// A short deadline, so "slower than the deadline" is quick to test (production: 8 s).
const settings = { WORKOS_TIMEOUT_MS: '600' }

const FAULTS: [string, Record<string, unknown>, number][] = [
  ['500', { status: 500 }, 503],
  ['502', { status: 502 }, 503],
  ['503', { status: 503, headers: { 'Retry-After': '2' } }, 503],
  [
    '429 with Retry-After',
    { status: 429, headers: { 'Retry-After': '7' }, body: { message: 'Slow down' } },
    429,
  ],
  ['a non-JSON error body', { status: 502, body: '<html>Bad gateway</html>' }, 503],
  ['a non-JSON 200', { status: 200, body: '<html>maintenance</html>' }, 503],
  ['a dropped connection', { drop: true }, 503],
  ['an answer slower than the deadline', { delayMs: 1500 }, 503],
]

afterEach(clearFaults)

async function expectTryAgain(response: Response, status: number) {
  expect(response.status).toBe(status)
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
  expect(sessionCookieFrom(response)).toBeUndefined()
  const body = await response.text()
  expect(body).toMatch(/try again|wait/i)
  expect(body).not.toMatch(/Injected|Exception|sk_test|passwordless\//)
}

describe.each(FAULTS)('WorkOS answers with %s', (_, fault, status) => {
  const slow = 'delayMs' in fault

  it('sending a link: try again, nothing mailed, then one email on retry', async () => {
    const email = uniqueEmail()
    await armFault({ method: 'POST', path: '/passwordless/sessions', ...fault })
    await expectTryAgain(await gatewayWith(settings, '/auth/magic-link', json({ email })), status)
    if (!slow) expect(await mailFor(email)).toHaveLength(0)
    await clearFaults()
    expect((await gatewayWith(settings, '/auth/magic-link', json({ email }))).status).toBe(200)
    expect(await mailFor(email)).toHaveLength(1)
  })

  it('WorkOS sending the link: try again, then it arrives once per click', async () => {
    const email = uniqueEmail()
    await armFault({ method: 'POST', path: '/passwordless/sessions/*', ...fault })
    await expectTryAgain(await gatewayWith(settings, '/auth/magic-link', json({ email })), status)
    await new Promise((resolve) => setTimeout(resolve, slow ? 1200 : 0))
    // A slow send may still land late: at most one email for that one click.
    expect((await mailFor(email)).length).toBeLessThanOrEqual(1)
    const before = (await mailFor(email)).length
    await clearFaults()
    expect((await gatewayWith(settings, '/auth/magic-link', json({ email }))).status).toBe(200)
    expect(await mailFor(email)).toHaveLength(before + 1)
  })

  it('sending a code: try again, nothing mailed, then the code works', async () => {
    const email = uniqueEmail()
    await armFault({ path: '/user_management/magic_auth', ...fault })
    await expectTryAgain(await gatewayWith(settings, '/auth/magic-auth', json({ email })), status)
    await new Promise((resolve) => setTimeout(resolve, slow ? 1200 : 0))
    expect((await mailFor(email)).length).toBeLessThanOrEqual(slow ? 1 : 0)
    await clearFaults()
    expect((await gatewayWith(settings, '/auth/magic-auth', json({ email }))).status).toBe(200)
    const verified = await gatewayWith(
      settings,
      '/auth/magic-auth/verify',
      json({ email, code: await latestCode(email) }),
    )
    expect(verified.status).toBe(200)
  })

  it('checking a code: try again, no session, then signing in works', async () => {
    const email = uniqueEmail()
    const sent = await gatewayWith(settings, '/auth/magic-auth', json({ email }))
    expect(cookieFrom(sent, '__Host-magic-auth')).toBeDefined()
    const code = await latestCode(email)
    await armFault({ path: '/user_management/authenticate', ...fault })
    await expectTryAgain(
      await gatewayWith(settings, '/auth/magic-auth/verify', json({ email, code })),
      status,
    )
    await clearFaults()
    let retry = await gatewayWith(settings, '/auth/magic-auth/verify', json({ email, code }))
    if (slow) {
      // The slow call went through late and spent the code: a new code signs in.
      await new Promise((resolve) => setTimeout(resolve, 1200))
      await gatewayWith(settings, '/auth/magic-auth', json({ email }))
      retry = await gatewayWith(
        settings,
        '/auth/magic-auth/verify',
        json({ email, code: await latestCode(email) }),
      )
    }
    expect(retry.status).toBe(200)
    expect(sessionCookieFrom(retry)).toBeDefined()
  })

  it('exchanging the link’s code: a try-again page, no session, then signing in works', async () => {
    const email = uniqueEmail()
    await gatewayWith(settings, '/auth/magic-link', json({ email }))
    const callback = pathOf(await openLink(await latestLink(email)))
    await armFault({ path: '/sso/token', ...fault })
    const failed = await gatewayWith(settings, callback, { headers: { accept: 'text/html' } })
    // A browser step: always the 503 try-again page, with the same step as its retry link.
    await expectTryAgain(failed, 503)
    await clearFaults()
    if (slow) {
      await new Promise((resolve) => setTimeout(resolve, 1200))
      await gatewayWith(settings, '/auth/magic-link', json({ email }))
      const fresh = pathOf(await openLink((await mailFor(email))[0]!.link!))
      expect(sessionCookieFrom(await gatewayWith(settings, fresh))).toBeDefined()
    } else {
      expect(sessionCookieFrom(await gatewayWith(settings, callback))).toBeDefined()
    }
  })
})

describe('WorkOS unreachable (connection refused)', () => {
  const down = { ...settings, WORKOS_API_URL: 'http://127.0.0.1:1' }

  it('answers every step with a clear try-again, quickly', async () => {
    const email = uniqueEmail()
    // A code asked for while WorkOS was up, to be checked while it is down.
    await gateway('/auth/magic-auth', json({ email: uniqueEmail() }))
    const started = Date.now()
    await expectTryAgain(await gatewayWith(down, '/auth/magic-link', json({ email })), 503)
    await expectTryAgain(await gatewayWith(down, '/auth/magic-auth', json({ email })), 503)
    await expectTryAgain(
      await gatewayWith(down, '/auth/magic-auth/verify', json({ code: '123456' })),
      503,
    )
    expect(Date.now() - started).toBeLessThan(5000)
    expect(await mailFor(email)).toHaveLength(0)
  })
})

describe('a browser form during a WorkOS fault', () => {
  it('shows the sign-in form again with "try again" and what was typed', async () => {
    const email = uniqueEmail()
    await armFault({ path: '/user_management/magic_auth', status: 503 })
    const response = await gateway('/auth/magic-auth', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://gateway.test',
        accept: 'text/html',
      },
      body: new URLSearchParams({ email }).toString(),
    })
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBeTruthy()
    const page = await response.text()
    expect(page).toContain('try again')
    expect(page).toContain(`value="${email}"`)
  })
})
