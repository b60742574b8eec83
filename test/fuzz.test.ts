import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { fromAnotherBrowser, gateway, signIn } from './helpers'

// Hostile input thrown at every gateway endpoint (fast-check, inside workerd). Every answer must
// be a 4xx or a correct redirect: never a 5xx, never an open redirect, never a session.

const RUNS = 120
let tried = 0

afterAll(() => {
  console.log(JSON.stringify({ fuzz: 'inputs tried', count: tried }))
})

// Header text: printable ASCII, and percent-escaped random bytes (invalid UTF-8 such as %C3%28 or
// %FF included) for the decoders. Raw bytes above 0x7F are not sent: workerd re-encodes them as
// UTF-8 rather than passing them on.
const headerText = (maxLength: number) =>
  fc.oneof(
    fc.string({
      maxLength,
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    }),
    fc
      .uint8Array({ maxLength: Math.floor(maxLength / 3) })
      .map((bytes) =>
        [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''),
      ),
    fc
      .uint8Array({ maxLength: 40 })
      .map(
        (bytes) =>
          `__Host-session=${[...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`,
      ),
  )

const ENDPOINTS = [
  ['GET', '/auth/login'],
  ['GET', '/auth/me'],
  ['GET', '/auth/verify'],
  ['GET', '/auth/sessions'],
  ['GET', '/auth/apps'],
  ['GET', '/auth/code'],
  ['GET', '/auth/callback'],
  ['GET', '/auth/magic/' + 'A'.repeat(43)],
  ['POST', '/auth/magic-link'],
  ['POST', '/auth/magic-auth'],
  ['POST', '/auth/magic-auth/verify'],
  ['POST', '/auth/logout'],
  ['POST', '/auth/callback'],
  ['POST', '/auth/sessions/abc/revoke'],
  ['POST', '/auth/admin/revoke'],
  ['POST', '/auth/webhooks/workos'],
  ['GET', '/api/data'],
  ['POST', '/api/data'],
] as const

function expectSafe(response: Response) {
  tried++
  expect(response.status).toBeLessThan(500)
  expect(response.headers.getSetCookie().some((c) => /^__Host-session=[^;]+/.test(c))).toBe(false)
  const location = response.headers.get('location')
  if (location) {
    expect(location.startsWith('/')).toBe(true)
    expect(/^[/\\][/\\]/.test(location)).toBe(false)
  }
}

// Each input is a real request through the Worker (and one log line): allow a minute per property.
describe('fuzz: every endpoint, hostile input', { timeout: 90_000 }, () => {
  it('random cookies never open a session or cause a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ENDPOINTS),
        headerText(300),
        async ([method, path], cookie) => {
          const response = await fromAnotherBrowser(path, {
            method,
            headers: { cookie, 'content-type': 'application/json', origin: 'https://gateway.test' },
            ...(method === 'POST' && { body: '{}' }),
          })
          expectSafe(response)
          if (path === '/api/data') expect(response.status).toBe(401)
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('random __Host-session values are refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (value) => {
        const cookie = `__Host-session=${encodeURIComponent(value)}`
        const response = await fromAnotherBrowser('/api/data', { headers: { cookie } })
        expectSafe(response)
        expect(response.status).toBe(401)
      }),
      { numRuns: RUNS },
    )
  })

  it('random returnTo values never redirect off the site', async () => {
    const { cookie } = await signIn()
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 100 }),
          fc.webUrl(),
          fc.constantFrom('//', '/\\', '/.//', '/..//', '%2f%2f', '\\\\', 'https:', '/%2e%2e//'),
        ),
        fc.string({ maxLength: 30 }),
        async (prefix, rest) => {
          const returnTo = encodeURIComponent(prefix + rest)
          const response = await gateway(`/auth/login?returnTo=${returnTo}`, {
            headers: { cookie },
          })
          expectSafe(response)
          expect(response.status).toBe(302)
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('random code and state on the callback: back to the sign-in page, no session', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 300 }),
        fc.string({ maxLength: 600 }),
        async (code, state) => {
          const query = new URLSearchParams({ code, state }).toString()
          const response = await fromAnotherBrowser(`/auth/callback?${query}`)
          expectSafe(response)
          expect(response.status).toBe(302)
          expect(response.headers.get('location')).toMatch(/^\/auth\/login\?error=auth_failed/)
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('JSON of every wrong shape to every POST endpoint: a 4xx (or a harmless 200)', async () => {
    const posts = ENDPOINTS.filter(([method]) => method === 'POST')
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...posts), fc.jsonValue(), async ([, path], body) => {
        const response = await fromAnotherBrowser(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
        expectSafe(response)
      }),
      { numRuns: RUNS },
    )
  })

  it('wrong content types, malformed bodies and odd methods', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ENDPOINTS),
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND'),
        fc.constantFrom(
          'application/json',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'text/plain',
          'application/xml',
          'application/json; charset=utf-16',
          '',
        ),
        fc.string({ maxLength: 500 }),
        async ([, path], method, contentType, body) => {
          const hasBody = !['GET', 'HEAD'].includes(method)
          const response = await fromAnotherBrowser(path, {
            method,
            headers: {
              ...(contentType && { 'content-type': contentType }),
              origin: 'https://gateway.test',
            },
            ...(hasBody && { body }),
          })
          expectSafe(response)
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('huge bodies and overlong headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ENDPOINTS.filter(([m]) => m === 'POST')),
        fc.integer({ min: 1, max: 300_000 }),
        fc.integer({ min: 1, max: 12_000 }),
        async ([, path], bodySize, headerSize) => {
          const response = await fromAnotherBrowser(path, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-padding': 'p'.repeat(headerSize),
              'user-agent': 'u'.repeat(Math.min(headerSize, 8000)),
            },
            body: JSON.stringify({ email: 'x'.repeat(bodySize) }),
          })
          expectSafe(response)
          // The gateway's own routes take 16 KB at most; the origin's limits are the origin's.
          if (bodySize > 16 * 1024 && path.startsWith('/auth/')) expect(response.status).toBe(413)
        },
      ),
      { numRuns: 40 },
    )
  })
})
