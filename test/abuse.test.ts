import { describe, expect, it } from 'vitest'
import { form, gateway, gatewayWith, json, latestCode, mailFor, uniqueEmail } from './helpers'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The limiters count in wall-clock windows (10 or 60 s). A test that must see a limit trip starts
 * well inside a window, so the window cannot turn halfway through its burst.
 */
async function startOfWindow(periodSeconds: number) {
  const intoWindow = Date.now() % (periodSeconds * 1000)
  if (intoWindow > periodSeconds * 1000 - 3000) await sleep(periodSeconds * 1000 - intoWindow + 100)
}

/** Retries `attempt` once a second until it answers `status`, for at most `seconds`. */
async function waitForStatus(status: number, seconds: number, attempt: () => Promise<Response>) {
  for (let i = 0; i <= seconds; i++) {
    const response = await attempt()
    if (response.status === status) return response
    await sleep(1000)
  }
  throw new Error(`no ${status} within ${seconds} s`)
}

describe('send limits', () => {
  it('limits sends per address (3 a minute) with 429, Retry-After and a clear message, then recovers', async () => {
    const email = uniqueEmail('flood')
    await startOfWindow(60)
    for (let i = 0; i < 3; i++) {
      expect((await gateway('/auth/magic-link', json({ email }))).status).toBe(200)
    }
    const limited = await gateway('/auth/magic-link', json({ email }))
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    const body = (await limited.json()) as { error: string; message: string }
    expect(body.error).toBe('too_many_requests')
    expect(body.message).toMatch(/wait/i)
    // The code route shares the address's budget.
    expect((await gateway('/auth/magic-auth', json({ email }))).status).toBe(429)
    // No email was sent for the refused requests.
    expect(await mailFor(email)).toHaveLength(3)
    // Another address is not affected.
    expect((await gateway('/auth/magic-link', json({ email: uniqueEmail() }))).status).toBe(200)
    // Within a minute the window turns and the address may send again.
    await waitForStatus(200, 65, () => gateway('/auth/magic-link', json({ email })))
  }, 90_000)

  it('limits sends per client IP (10 per 10 s) across addresses, then recovers', async () => {
    const ip = { 'cf-connecting-ip': '203.0.113.77' }
    await startOfWindow(10)
    const answers: number[] = []
    for (let i = 0; i < 11; i++) {
      answers.push((await gateway('/auth/magic-link', json({ email: uniqueEmail() }, ip))).status)
    }
    expect(answers).toEqual([...Array(10).fill(200), 429])
    const limited = await gateway('/auth/magic-link', json({ email: uniqueEmail() }, ip))
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('10')
    // Another client is not affected.
    expect((await gateway('/auth/magic-link', json({ email: uniqueEmail() }))).status).toBe(200)
    await waitForStatus(200, 15, () =>
      gateway('/auth/magic-link', json({ email: uniqueEmail() }, ip)),
    )
  }, 30_000)

  it('shows a browser the sign-in form with the limit explained', async () => {
    const email = uniqueEmail()
    await startOfWindow(60)
    for (let i = 0; i < 3; i++) await gateway('/auth/magic-link', json({ email }))
    const response = await gateway('/auth/magic-link', form({ email, returnTo: '/r' }))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('60')
    const html = await response.text()
    expect(html).toContain('Too many sign-in emails')
    expect(html).toContain(`value="${email}"`)
  })

  it('limits code guesses per client IP', async () => {
    const ip = { 'cf-connecting-ip': '203.0.113.88' }
    await startOfWindow(10)
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) {
      const response = await gateway(
        '/auth/magic-auth/verify',
        json({ email: uniqueEmail(), code: '000000' }, ip),
      )
      statuses.push(response.status)
    }
    expect(statuses).toEqual([...Array(10).fill(400), 429])
  })
})

describe('allow lists', () => {
  const settings = {
    ALLOWED_EMAIL_DOMAINS: 'example.com, *.corp.test',
    ALLOWED_EMAILS: 'Guest@Partner.test',
  }

  it.each([
    'someone@example.com',
    'SOMEONE@EXAMPLE.COM',
    'dev@eu.corp.test',
    'dev@corp.test',
    'guest@partner.test',
    'Guest@PARTNER.test',
  ])('lets %s sign in', async (address) => {
    const email = address.replace(
      '@',
      `+${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@`,
    )
    const listed = email.toLowerCase().startsWith('guest') ? address : email
    const response = await gatewayWith(settings, '/auth/magic-auth', json({ email: listed }))
    expect(response.status).toBe(200)
  })

  it.each([
    'someone@evil.test',
    'someone@example.com.evil.test',
    'someone@notexample.com',
    'other@partner.test',
    'dev@corp.test.evil',
  ])('refuses %s before any email is sent', async (email) => {
    for (const route of ['/auth/magic-link', '/auth/magic-auth']) {
      const response = await gatewayWith(settings, route, json({ email }))
      expect(response.status).toBe(403)
      expect(await response.json()).toMatchObject({ error: 'email_not_allowed' })
    }
    expect(await mailFor(email)).toHaveLength(0)
  })

  it('shows a browser the reason on the sign-in form', async () => {
    const response = await gatewayWith(settings, '/auth/magic-link', form({ email: 'x@evil.test' }))
    expect(response.status).toBe(403)
    expect(await response.text()).toContain('cannot sign in here')
  })

  it('refuses a code for an address outside the lists at verification too', async () => {
    const email = uniqueEmail()
    await gateway('/auth/magic-auth', json({ email }))
    const response = await gatewayWith(
      { ALLOWED_EMAIL_DOMAINS: 'elsewhere.test' },
      '/auth/magic-auth/verify',
      json({ email, code: await latestCode(email) }),
    )
    expect(response.status).toBe(403)
  })
})
