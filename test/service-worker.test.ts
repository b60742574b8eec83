import { describe, expect, it } from 'vitest'
import { gatewayWith, sessionFor } from './helpers'

// An origin shares the browser origin with the gateway's own pages. A service worker it registers
// sees every navigation in its scope: with a scope over /auth/, the sign-in code on
// /auth/callback?code=… or the token on /auth/magic/<token>, and so the account. The browser
// fetches a service worker script with `Service-Worker: script`; its scope can reach no further
// than the script's folder, or what the answer's Service-Worker-Allowed widens it to. The
// gateway refuses the script when that reaches its own paths, in every mode and on every route.

const SCRIPT = { 'service-worker': 'script', accept: '*/*' }
const ACCESS = JSON.stringify({
  routes: [
    { name: 'open', path: '/open/*', public: true },
    { name: 'root-worker', path: '/sw.js', service: 'DOCS_SERVICE', public: true },
    { name: 'app', path: '/*' },
  ],
})

/** The script at `path` as the browser fetches it to register a worker. */
async function fetchScript(
  path: string,
  options: { cookie?: string; overrides?: Record<string, unknown>; headers?: object } = {},
) {
  const headers = {
    ...SCRIPT,
    ...options.headers,
    ...(options.cookie && { cookie: options.cookie }),
  }
  return gatewayWith(options.overrides ?? {}, path, { headers })
}

async function expectRefused(response: Response) {
  expect(response.status).toBe(403)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  const body = (await response.json()) as { error: string; message: string }
  expect(body.error).toBe('service_worker_refused')
  expect(body.message).toContain('/auth/')
}

async function expectServed(response: Response) {
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/javascript/)
  expect(await response.text()).toContain("addEventListener('fetch'")
}

describe('an origin’s service worker script', () => {
  it('at /sw.js (scope /, over /auth/) is refused, signed in or public, without ACCESS', async () => {
    const cookie = await sessionFor()
    await expectRefused(await fetchScript('/sw.js', { cookie }))
    await expectRefused(await fetchScript('/sw.js', { overrides: { PUBLIC_PATHS: '/sw.js' } }))
    // The header's value in any case, and a script the browser finds in a deeper path with "..".
    await expectRefused(
      await fetchScript('/app/../sw.js', { cookie, headers: { 'Service-Worker': 'SCRIPT' } }),
    )
  })

  it('under /static/ is served as the origin wrote it, with no widening header', async () => {
    const cookie = await sessionFor()
    await expectServed(await fetchScript('/static/sw.js', { cookie }))
    await expectServed(
      await fetchScript('/static/sw.js', { overrides: { PUBLIC_PATHS: '/static/*' } }),
    )
    // Widened within the origin's own paths: fine.
    await expectServed(await fetchScript('/static/app/sw.js?allowed=/static/', { cookie }))
    await expectServed(await fetchScript('/static/sw.js?allowed=/authors/', { cookie }))
  })

  it('whose Service-Worker-Allowed widens it over the gateway’s paths is refused', async () => {
    const cookie = await sessionFor()
    for (const allowed of [
      '/',
      '/auth/',
      '/auth',
      '/a',
      '/auth/callback',
      '/auth/magic/',
      '/.well-known/',
      '/__dev/',
      // Resolved and normalised as the browser does: relative, dot segments, backslashes,
      // encoded dots, a full URL, percent-encoded letters.
      '../',
      '/static/../auth/',
      '/static/%2e%2e/',
      '\\',
      'https://gateway.test/',
      '/%61uth/',
    ]) {
      const query = `?allowed=${encodeURIComponent(allowed)}`
      const response = await fetchScript(`/static/sw.js${query}`, { cookie })
      expect(response.status, allowed).toBe(403)
      await expectRefused(response)
    }
    // Two Service-Worker-Allowed lines, one harmless: refused for the other.
    await expectRefused(await fetchScript('/static/sw.js?allowed=/static/&allowed=/', { cookie }))
  })

  it('is refused the same way with ACCESS: public, signed-in and service-binding routes', async () => {
    const cookie = await sessionFor()
    const overrides = { ACCESS }
    await expectRefused(await fetchScript('/sw.js', { overrides }))
    await expectRefused(await fetchScript('/open/sw.js?allowed=/', { overrides }))
    await expectRefused(await fetchScript('/app/sw.js?allowed=/', { cookie, overrides }))
    await expectServed(await fetchScript('/open/sw.js', { overrides }))
    await expectServed(await fetchScript('/app/sw.js', { cookie, overrides }))
  })

  it('fetched as an ordinary script loses a widening header, and varies on Service-Worker', async () => {
    // Otherwise a page could fetch it first and have the browser register the cached copy
    // (updateViaCache: "all"), whose fetch the gateway never sees.
    const cookie = await sessionFor()
    const plain = await gatewayWith({}, '/static/sw.js?allowed=/', { headers: { cookie } })
    expect(plain.status).toBe(200)
    expect(plain.headers.has('service-worker-allowed')).toBe(false)
    expect(plain.headers.get('vary') ?? '').toMatch(/(^|,\s*)Service-Worker(\s*,|$)/i)
    const root = await gatewayWith({}, '/sw.js', { headers: { cookie } })
    expect(root.status).toBe(200)
    expect(root.headers.get('vary') ?? '').toMatch(/Service-Worker/i)
  })
})
