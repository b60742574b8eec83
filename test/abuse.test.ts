import { describe, expect, it } from 'vitest'
import {
  form,
  fromAnotherBrowser,
  gateway,
  gatewayWith,
  json,
  latestCode,
  mailFor,
  sessionCookieFrom,
  uniqueEmail,
} from './helpers'

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
  it('limits sends per address (3 a minute): 429 with Retry-After, nothing sent, then recovers', async () => {
    const email = uniqueEmail('flood')
    await startOfWindow(60)
    for (let i = 0; i < 3; i++) {
      expect((await gateway('/auth/magic-link', json({ email }))).status).toBe(200)
    }
    const limited = await gateway('/auth/magic-link', json({ email }))
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    const body = (await limited.json()) as { error: string; message: string }
    expect(body.error).toBe('link_recently_sent')
    expect(body.message).toMatch(/use the newest one/i)
    // The code route shares the address's budget, and still hands over a pending token.
    const code = await gateway('/auth/magic-auth', json({ email }))
    expect(code.status).toBe(429)
    expect(await code.json()).toMatchObject({
      error: 'code_recently_sent',
      pending: expect.any(String),
    })
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

  it('someone asking for codes for your address cannot lock you out', async () => {
    const email = uniqueEmail('victim')
    await startOfWindow(60)
    // Three sends from three other clients use up the address's budget for the minute.
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      await fromAnotherBrowser('/auth/magic-auth', json({ email }, { 'cf-connecting-ip': ip }))
    }
    // The person, in their own browser, asks for a code: they are sent to the code page, told
    // to use the newest code they already have, and that code signs them in.
    const asked = await gateway('/auth/magic-auth', form({ email, returnTo: '/r' }))
    expect(asked.status).toBe(303)
    expect(asked.headers.get('location')).toBe('/auth/code?recent=1')
    const page = await gateway('/auth/code?recent=1', { headers: { accept: 'text/html' } })
    expect(await page.text()).toContain('We recently sent a code to this address')
    const signedIn = await gateway(
      '/auth/magic-auth/verify',
      form({ code: await latestCode(email) }),
    )
    expect(signedIn.status).toBe(303)
    expect(signedIn.headers.get('location')).toBe('/r')
    expect(sessionCookieFrom(signedIn)).toBeDefined()
    // A link asked for meanwhile: the check-email page says to use the newest one.
    const link = await gateway('/auth/magic-link', form({ email }))
    expect(link.headers.get('location')).toBe('/auth/check-email?recent=1')
    const check = await gateway('/auth/check-email?recent=1', { headers: { accept: 'text/html' } })
    expect(await check.text()).toContain('We recently sent a link to this address')
  })

  it('limits code guesses per client IP', async () => {
    const ip = { 'cf-connecting-ip': '203.0.113.88' }
    await gateway('/auth/magic-auth', json({ email: uniqueEmail() }))
    await startOfWindow(10)
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) {
      const response = await gateway('/auth/magic-auth/verify', json({ code: '000000' }, ip))
      statuses.push(response.status)
    }
    expect(statuses).toEqual([...Array(10).fill(400), 429])
  })

  it('counts IPv6 clients by /64: rotating addresses in one /64 is one client', async () => {
    await startOfWindow(10)
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) {
      const ip = `2001:db8:77:1:${(i + 1).toString(16)}::${i}`
      statuses.push(
        (
          await gateway(
            '/auth/magic-link',
            json({ email: uniqueEmail() }, { 'cf-connecting-ip': ip }),
          )
        ).status,
      )
    }
    expect(statuses).toEqual([...Array(10).fill(200), 429])
    // Another /64 is another client.
    const other = await gateway(
      '/auth/magic-link',
      json({ email: uniqueEmail() }, { 'cf-connecting-ip': '2001:db8:77:2::1' }),
    )
    expect(other.status).toBe(200)
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
