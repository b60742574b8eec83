import { describe, expect, it } from 'vitest'
import { safeReturnTo } from '../src/redirect'
import { gateway, signIn } from './helpers'

// Known open-redirect payloads (oauth2-proxy's advisories, PortSwigger's and OWASP's lists):
// each must fall back to "/".
const OPEN_REDIRECTS = [
  'https://evil.example',
  'http://evil.example/path',
  '//evil.example',
  '///evil.example',
  '////evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '\\/evil.example',
  '/\t/evil.example',
  '/\n/evil.example',
  '/\r\n/evil.example',
  ' //evil.example',
  '/%2F/evil.example',
  '/%2f%2fevil.example',
  '/%5Cevil.example',
  '/%5c%5cevil.example',
  '%2F%2Fevil.example',
  '/%252F%252Fevil.example',
  '/%09/evil.example',
  '/%0d%0a/evil.example',
  '/%00/evil.example',
  'https:evil.example',
  'https:/evil.example',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'evil.example',
  '@evil.example',
  '/\u2215\u2215evil.example',
  '/\uff0f\uff0fevil.example',
  '\u3002evil.example',
  '/auth/login?returnTo=//evil.example',
  '/.//evil.example',
  '/..//evil.example',
  '/a/..//evil.example',
  '/%2e//evil.example',
  '/%2e%2e//evil.example',
  '/./%2F/evil.example',
  '',
  '/' + 'a'.repeat(3000),
]

describe('safeReturnTo', () => {
  it.each(OPEN_REDIRECTS)('refuses %j', (payload) => {
    const result = safeReturnTo(payload)
    // Either the fallback, or a path that provably stays on this origin.
    expect(new URL(result, 'https://gateway.test').origin).toBe('https://gateway.test')
    expect(result.startsWith('//')).toBe(false)
    expect(result === '/' || !/evil\.example/.test(decodeURIComponent(result))).toBe(true)
  })

  it.each([
    ['/', '/'],
    ['/dashboard', '/dashboard'],
    ['/reports?year=2026&q=a%20b', '/reports?year=2026&q=a%20b'],
    ['/a/b/../c', '/a/c'],
    ['/search?next=//evil.example', '/search?next=//evil.example'],
  ])('keeps the same-origin path %j', (input, expected) => {
    expect(safeReturnTo(input)).toBe(expected)
  })

  it('refuses anything that is not a string', () => {
    for (const value of [undefined, null, 42, ['/x'], { path: '/x' }]) {
      expect(safeReturnTo(value)).toBe('/')
    }
  })

  it('never returns to the sign-in routes themselves', () => {
    expect(safeReturnTo('/auth/login')).toBe('/')
    expect(safeReturnTo('/auth/callback?code=x')).toBe('/')
  })
})

describe('open redirects through the gateway', () => {
  it.each(OPEN_REDIRECTS.filter((p) => !/[\r\n\t\0]/.test(p)))(
    'a sign-in with returnTo %j lands on this site',
    async (payload) => {
      const { location } = await signIn(undefined, payload)
      expect(location.startsWith('/')).toBe(true)
      expect(location.startsWith('//')).toBe(false)
      expect(new URL(location, 'https://gateway.test').origin).toBe('https://gateway.test')
    },
  )

  it('an already signed-in visit to the login page goes only to a safe returnTo', async () => {
    const { cookie } = await signIn()
    for (const payload of ['//evil.example', '/\\evil.example', 'https://evil.example']) {
      const response = await gateway(`/auth/login?returnTo=${encodeURIComponent(payload)}`, {
        headers: { cookie },
      })
      expect(response.status).toBe(302)
      expect(response.headers.get('location')).toBe('/')
    }
  })
})
