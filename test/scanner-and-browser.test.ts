import { describe, expect, it } from 'vitest'
import {
  EMULATOR,
  GATEWAY,
  form,
  fromAnotherBrowser,
  gateway,
  gatewayWith,
  json,
  latestLink,
  mailFor,
  openLink,
  pathOf,
  sessionCookieFrom,
  uniqueEmail,
} from './helpers'

const custom = { EMAIL_DELIVERY: 'custom' }

/**
 * A mail security scanner: GETs every URL in the message, follows every redirect, and loads what
 * the pages link to. It keeps no cookies and never submits a form.
 */
async function scan(url: string): Promise<number> {
  let fetched = 0
  let next: string | null = url
  for (let hop = 0; next && hop < 10; hop++) {
    const target: string = next
    const response: Response = target.startsWith(GATEWAY)
      ? await fromAnotherBrowser(pathOf(target), { headers: { accept: 'text/html' } })
      : await fetch(target, { redirect: 'manual' })
    fetched++
    const body = await response.text()
    for (const [, href] of body.matchAll(/(?:href|src)="([^"]+)"/g)) {
      const resource = new URL(href!, target).toString()
      if (resource.startsWith(GATEWAY)) {
        await fromAnotherBrowser(pathOf(resource))
        fetched++
      }
    }
    const location = response.headers.get('location')
    next = location ? new URL(location, target).toString() : null
  }
  return fetched
}

describe('scanner-proof Magic Link (EMAIL_DELIVERY=custom)', () => {
  it('survives a scanner that opens every link, follows redirects and loads the page', async () => {
    const email = uniqueEmail('scanned')
    await gatewayWith(custom, '/auth/magic-link', json({ email, returnTo: '/inbox' }))
    const [message] = (await mailFor(email)).filter((m) => m.via === 'provider')
    const link = message!.link!
    expect(link.startsWith(`${GATEWAY}/auth/magic/`)).toBe(true)

    // Two scanners, one after the other, as large mail providers do.
    expect(await scan(link)).toBeGreaterThan(1)
    await scan(link)

    // Then the person opens it, sees whose account, and clicks Continue.
    const page = await gatewayWith(custom, pathOf(link), { headers: { accept: 'text/html' } })
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain(email)
    expect(html).toContain(`<form method="post" action="${pathOf(link)}"`)
    expect(page.headers.get('content-security-policy')).toContain(`form-action 'self' ${EMULATOR}`)
    expect(page.headers.get('referrer-policy')).toBe('no-referrer')

    const continued = await gatewayWith(custom, pathOf(link), form({}))
    expect(continued.status).toBe(303)
    const callback = await openLink(continued.headers.get('location')!)
    const signedIn = await gatewayWith(custom, pathOf(callback))
    expect(signedIn.status).toBe(302)
    expect(signedIn.headers.get('location')).toBe('/inbox')
    expect(sessionCookieFrom(signedIn)).toBeDefined()
  })

  it('spends the gateway link on Continue: a second click says the link has expired', async () => {
    const email = uniqueEmail()
    await gatewayWith(custom, '/auth/magic-link', json({ email }))
    const link = (await mailFor(email)).find((m) => m.via === 'provider')!.link!
    expect((await gatewayWith(custom, pathOf(link), form({}))).status).toBe(303)
    const again = await gatewayWith(custom, pathOf(link), form({}))
    expect(again.status).toBe(303)
    expect(again.headers.get('location')).toBe('/auth/login?error=expired')
    const page = await gatewayWith(custom, pathOf(link), { headers: { accept: 'text/html' } })
    expect(page.status).toBe(410)
    expect(await page.text()).toContain('expired')
  })

  it('answers an unknown or malformed token with the expired page', async () => {
    for (const token of ['A'.repeat(43), 'short', '..%2F..%2Fetc']) {
      const response = await gateway(`/auth/magic/${token}`, { headers: { accept: 'text/html' } })
      expect(response.status).toBe(410)
    }
  })

  it('without custom delivery, the WorkOS link itself is what a scanner burns', async () => {
    const email = uniqueEmail()
    await gateway('/auth/magic-link', json({ email }))
    const link = await latestLink(email)
    await scan(link)
    const person = await gateway(pathOf(await openLink(link)))
    expect(person.headers.get('location')).toBe('/auth/login?error=expired')
  })
})

describe('a sign-in completed in another browser', () => {
  async function linkRequestedHere(email: string, returnTo = '/') {
    await gateway('/auth/magic-link', json({ email, returnTo }))
    return pathOf(await openLink(await latestLink(email)))
  }

  it('asks for confirmation, naming the account, before making any session', async () => {
    const email = uniqueEmail('other-device')
    const callback = await linkRequestedHere(email, '/docs')
    const response = await fromAnotherBrowser(callback, { headers: { accept: 'text/html' } })
    expect(response.status).toBe(200)
    expect(sessionCookieFrom(response)).toBeUndefined()
    const html = await response.text()
    expect(html).toContain('Confirm sign-in')
    expect(html).toContain(email)
    expect(html).toContain('<form method="post" action="/auth/callback"')

    // Confirming signs in (the code was not spent by showing the page).
    const code = new URL(callback, GATEWAY).searchParams.get('code')!
    const state = new URL(callback, GATEWAY).searchParams.get('state')!
    const confirmed = await fromAnotherBrowser('/auth/callback', {
      ...form({ code, state }),
    })
    expect(confirmed.status).toBe(303)
    expect(confirmed.headers.get('location')).toBe('/docs')
    expect(sessionCookieFrom(confirmed)).toBeDefined()
  })

  it('a planted link (the attacker’s own) shows the attacker’s address, and nothing happens unconfirmed', async () => {
    const attacker = uniqueEmail('attacker')
    const planted = await linkRequestedHere(attacker)
    const victim = await fromAnotherBrowser(planted, { headers: { accept: 'text/html' } })
    expect(await victim.text()).toContain(attacker)
    expect(sessionCookieFrom(victim)).toBeUndefined()
    // An auto-submitting form on the attacker's site cannot confirm for the victim.
    const url = new URL(planted, GATEWAY)
    const forced = await fromAnotherBrowser(
      '/auth/callback',
      form(
        { code: url.searchParams.get('code')!, state: url.searchParams.get('state')! },
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      ),
    )
    expect(forced.status).toBe(403)
    expect(sessionCookieFrom(forced)).toBeUndefined()
  })

  it('refuses a confirmation whose state was altered', async () => {
    const callback = new URL(await linkRequestedHere(uniqueEmail()), GATEWAY)
    const state = callback.searchParams.get('state')!
    const response = await fromAnotherBrowser(
      '/auth/callback',
      form({ code: callback.searchParams.get('code')!, state: state.slice(0, -3) + 'AAA' }),
    )
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/auth/login?error=auth_failed')
  })

  it('in the browser that asked, signs in without asking', async () => {
    const callback = await linkRequestedHere(uniqueEmail())
    const response = await gateway(callback)
    expect(response.status).toBe(302)
    expect(sessionCookieFrom(response)).toBeDefined()
  })
})
