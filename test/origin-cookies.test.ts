import { describe, expect, it } from 'vitest'
import {
  cookieFrom,
  fromAnotherBrowser,
  gateway,
  gatewayWith,
  json,
  latestLink,
  openLink,
  pathOf,
  sessionCookieFrom,
  signIn,
  uniqueEmail,
} from './helpers'

// An origin (compromised, or simply careless) must not be able to plant or clear the gateway's
// cookies: a planted __Host-session fixes a session, a planted __Host-signin skips the
// cross-browser confirmation (login CSRF), a cleared one signs a person out.

const PLANTS = [
  '__Host-session=AAAA.BBBB.CCCC; Path=/; Secure; HttpOnly',
  '__Host-signin=planted-nonce; Path=/; Secure',
  '__Host-magic-auth=planted; Path=/; Secure',
  '__HOST-SESSION=upper; Path=/; Secure',
  '  __host-signin =spaced; path=/; secure',
  '__Host-session=; Max-Age=0; Path=/; Secure',
  '__Host-session',
  '=__Host-session=nameless; Path=/; Secure',
  '__Host-handoff=planted-nonce; Path=/; Secure',
  '__host-HANDOFF=upper; Path=/; Secure',
]
const KEEPS = ['origin_theme=dark; Path=/', '__Host-origin-own=1; Path=/; Secure']

const setCookiePath = () =>
  `/__set-cookie?${[...PLANTS, ...KEEPS].map((c) => `c=${encodeURIComponent(c)}`).join('&')}`

function expectOnlyOriginCookies(response: Response) {
  const lines = response.headers.getSetCookie()
  expect(lines).toEqual(KEEPS)
}

describe('Set-Cookie from the origin', () => {
  it('drops every gateway cookie the origin sets on a signed-in path, keeps its own', async () => {
    const { cookie } = await signIn()
    const response = await gateway(setCookiePath(), { headers: { cookie } })
    expect(response.status).toBe(200)
    expectOnlyOriginCookies(response)
    // The session still works: nothing the origin said replaced or cleared it.
    expect((await gateway('/auth/me', { headers: { cookie } })).status).toBe(200)
  })

  it('drops them on a public path too', async () => {
    const response = await gatewayWith({ PUBLIC_PATHS: '/__set-cookie' }, setCookiePath())
    expect(response.status).toBe(200)
    expectOnlyOriginCookies(response)
  })
})

describe('every gateway cookie is filtered', () => {
  // Every source file's text: a `__Host-` cookie named anywhere but the one table would be a
  // cookie the filter does not know about (as `__Host-handoff` once was).
  const sources = import.meta.glob('../src/**/*.{ts,tsx}', {
    query: '?raw',
    import: 'default',
    eager: true,
  }) as Record<string, string>

  it('names each gateway cookie in one table, which the filter is built from', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(50)
    const elsewhere = Object.entries(sources)
      .filter(([path]) => !path.endsWith('/cookies/declarations.ts'))
      .filter(([, text]) => /['"`]__Host-[A-Za-z]/.test(text))
      .map(([path]) => path)
    expect(elsewhere).toEqual([])
  })

  it('the handoff nonce never reaches the origin, whatever its spelling', async () => {
    const { cookie } = await signIn()
    const response = await gateway('/echo', {
      headers: {
        accept: 'application/json',
        cookie: `${cookie}; __Host-handoff=mine.sig; __HOST-Handoff=x; theme=dark`,
      },
    })
    expect(response.status).toBe(200)
    const seen = ((await response.json()) as { headers: Record<string, string> }).headers
    expect(seen.cookie).toBe('theme=dark')
  })
})

describe('the sign-in nonce is only ever one the gateway minted', () => {
  it('a browser holding a nonce the gateway did not sign gets a fresh, signed one', async () => {
    const planted = `__Host-signin=${'n'.repeat(43)}`
    const response = await fromAnotherBrowser(
      '/auth/magic-link',
      json({ email: uniqueEmail() }, { cookie: planted }),
    )
    const minted = cookieFrom(response, '__Host-signin')!
    expect(minted).not.toBe(planted)
    expect(minted).toMatch(/^__Host-signin=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/)
    expect(minted.startsWith(`${planted}.`)).toBe(false)
  })

  it('login CSRF with a planted nonce: the victim is asked to confirm, no session', async () => {
    // The attacker asks for a link to their own address in their own browser …
    const attacker = uniqueEmail('attacker')
    const asked = await fromAnotherBrowser('/auth/magic-link', json({ email: attacker }))
    const signed = cookieFrom(asked, '__Host-signin')!.slice('__Host-signin='.length)
    const [nonce, signature] = signed.split('.') as [string, string]
    const callback = pathOf(await openLink(await latestLink(attacker)))
    // … then plants that nonce in the victim's browser, bare or with a made-up signature, and
    // sends the victim the link.
    for (const plantedValue of [nonce, `${nonce}.${signature.slice(0, -2)}AA`]) {
      const victim = await fromAnotherBrowser(callback, {
        headers: { cookie: `__Host-signin=${plantedValue}`, accept: 'text/html' },
      })
      expect(victim.status).toBe(200)
      expect(await victim.text()).toContain('Confirm sign-in')
      expect(sessionCookieFrom(victim)).toBeUndefined()
    }
  })

  it('the browser that asked still signs in without a confirmation', async () => {
    const email = uniqueEmail()
    await gateway('/auth/magic-link', json({ email }))
    const response = await gateway(pathOf(await openLink(await latestLink(email))))
    expect(response.status).toBe(302)
    expect(sessionCookieFrom(response)).toBeDefined()
  })
})
