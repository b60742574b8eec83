import { beforeAll, describe, expect, it } from 'vitest'
import { gateway, gatewayWith, signIn } from './helpers'

interface Echo {
  method: string
  path: string
  query: string
  rawUrl: string
  headers: Record<string, string>
  rawHeaders: string[]
  bodyLength: number
  body?: string
}

let cookie: string
let email: string
let userId: string

beforeAll(async () => {
  ;({ cookie, email } = await signIn())
  userId = (
    (await (await gateway('/auth/me', { headers: { cookie } })).json()) as {
      user: { id: string }
    }
  ).user.id
})

async function echo(
  path: string,
  init: RequestInit = {},
): Promise<{ response: Response; echo: Echo }> {
  const headers = new Headers(init.headers)
  headers.append('cookie', cookie)
  const response = await gateway(path, { ...init, headers })
  return { response, echo: (await response.json()) as Echo }
}

describe('identity and forwarding headers', () => {
  it('sets X-Auth-User and X-Auth-Email for the signed-in person', async () => {
    const { echo: seen } = await echo('/whoami')
    expect(seen.headers['x-auth-user']).toBe(userId)
    expect(seen.headers['x-auth-email']).toBe(email)
  })

  it('removes client-sent identity headers in every case and spelling', async () => {
    const spoofed = [
      'X-Auth-User',
      'x-auth-user',
      'X-AUTH-EMAIL',
      'X_Auth_User',
      'x_auth_email',
      'X-Auth-Assertion',
      'x_auth_assertion',
      'X-Auth-Groups',
      'X-Real-IP',
      'Forwarded',
      'X-Forwarded-Host',
      'x_forwarded_for',
      'X-Forward-Auth-Token',
      'x_forward_auth_token',
    ]
    const headers = new Headers()
    for (const name of spoofed) headers.append(name, 'attacker@evil.example')
    const { echo: seen } = await echo('/spoof', { headers })
    expect(seen.headers['x-auth-user']).toBe(userId)
    expect(seen.headers['x-auth-email']).toBe(email)
    const raw = seen.rawHeaders.join('\n')
    expect(raw).not.toContain('attacker@evil.example')
    expect(raw.toLowerCase()).not.toMatch(/x_auth|x-auth-groups|x-real-ip|forwarded:|forward.auth/)
  })

  it('replaces X-Forwarded-For with the client address instead of appending', async () => {
    const { echo: seen } = await echo('/ip', {
      headers: { 'x-forwarded-for': '6.6.6.6', 'cf-connecting-ip': '203.0.113.9' },
    })
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9')
    expect(seen.headers['x-forwarded-host']).toBe('gateway.test')
    expect(seen.headers['x-forwarded-proto']).toBe('https')
  })

  it('passes a request id to the origin and returns it to the client', async () => {
    const { response, echo: seen } = await echo('/rid')
    const id = response.headers.get('x-request-id')
    expect(id).toBeTruthy()
    expect(seen.headers['x-request-id']).toBe(id)
  })

  it("removes the gateway's cookie (every copy) and keeps the site's own cookies", async () => {
    const response = await gateway('/cookies', {
      headers: { cookie: `theme=dark; ${cookie}; __Host-session=tossed.value; lang=en` },
    })
    const seen = (await response.json()) as Echo
    expect(seen.headers.cookie).toBe('theme=dark; lang=en')
    expect(seen.rawHeaders.join('\n')).not.toContain('__Host-session')
  })

  it('removes hop-by-hop headers, including those the Connection header names', async () => {
    const { echo: seen } = await echo('/hop', {
      headers: {
        connection: 'keep-alive, X-Private-Hop',
        'x-private-hop': 'secret',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        te: 'trailers',
        'x-kept': 'yes',
      },
    })
    expect(seen.headers['x-private-hop']).toBeUndefined()
    expect(seen.headers['proxy-authorization']).toBeUndefined()
    expect(seen.headers.te).toBeUndefined()
    expect(seen.headers['x-kept']).toBe('yes')
  })
})

describe('method, path, query and body', () => {
  it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])(
    'forwards %s with its path and query untouched',
    async (method) => {
      const init: RequestInit = { method, headers: { 'content-type': 'application/json' } }
      if (!['GET', 'OPTIONS'].includes(method)) init.body = JSON.stringify({ method })
      const { response, echo: seen } = await echo('/api/items/7?sort=desc&q=a%20b', init)
      expect(response.status).toBe(200)
      expect(seen.method).toBe(method)
      expect(seen.rawUrl).toBe('/api/items/7?sort=desc&q=a%20b')
      if (init.body) expect(seen.body).toBe(init.body)
    },
  )

  it('streams a large request body to the origin and a large answer back', async () => {
    const size = 3 * 1024 * 1024
    const payload = new Uint8Array(size).map((_, i) => i % 251)
    const response = await gateway('/__pipe', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/octet-stream' },
      body: payload,
    })
    expect(response.status).toBe(200)
    const returned = new Uint8Array(await response.arrayBuffer())
    expect(returned.length).toBe(size)
    expect(returned[size - 1]).toBe((size - 1) % 251)
  })

  it("streams the origin's answer as it comes rather than buffering it", async () => {
    const started = Date.now()
    const response = await gateway('/__slow-stream', { headers: { cookie } })
    const reader = response.body!.getReader()
    const first = await reader.read()
    const firstAt = Date.now() - started
    let rest = ''
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += new TextDecoder().decode(chunk.value)
    const allAt = Date.now() - started
    expect(new TextDecoder().decode(first.value)).toBe('one\n')
    expect(rest).toContain('three')
    // The origin spaces its three chunks 150 ms apart: the first arrives well before the last.
    expect(allAt - firstAt).toBeGreaterThanOrEqual(200)
  })

  it('keeps a path that looks like another host on the origin', async () => {
    const { echo: seen } = await echo('//evil.example/steal')
    expect(seen.rawUrl).toBe('//evil.example/steal')
  })

  it('joins an ORIGIN_URL base path with the request path', async () => {
    const { env } = await import('cloudflare:workers')
    const origin = (env as unknown as Record<string, string>).ORIGIN_URL
    const response = await gatewayWith({ ORIGIN_URL: `${origin}/base/` }, '/x?y=1', {
      headers: { cookie },
    })
    expect(((await response.json()) as Echo).rawUrl).toBe('/base/x?y=1')
  })
})

describe("the origin's answer", () => {
  it.each([201, 204, 404, 418, 500, 503])('passes status %i back unchanged', async (status) => {
    const response = await gateway(`/__status/${status}`, { headers: { cookie } })
    expect(response.status).toBe(status)
    if (status !== 204) expect(response.headers.get('x-origin')).toBe('demo')
  })

  it("hands the origin's redirects to the browser instead of following them", async () => {
    const response = await gateway('/__redirect?to=https://elsewhere.example/landing', {
      headers: { cookie },
    })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('https://elsewhere.example/landing')
  })

  it("passes every Set-Cookie of the origin's back", async () => {
    const response = await gateway('/__cookies', { headers: { cookie } })
    const cookies = response.headers.getSetCookie()
    expect(cookies).toContain('origin_a=1; Path=/')
    expect(cookies).toContain('origin_b=2; Path=/; HttpOnly')
  })

  it("does not put the gateway's page headers on the origin's answers", async () => {
    const response = await gateway('/plain', { headers: { cookie } })
    expect(response.headers.get('content-security-policy')).toBeNull()
    expect(response.headers.get('cache-control')).toBeNull()
    const login = await gateway('/auth/login')
    expect(login.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(login.headers.get('cache-control')).toBe('no-store')
  })

  it("passes a compressed answer on whole, whatever the origin's encoding", async () => {
    const response = await gateway('/__gzip', {
      headers: { cookie, 'accept-encoding': 'gzip, br' },
    })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { compressed: boolean; filler: string }
    expect(body.compressed).toBe(true)
    expect(body.filler).toHaveLength(4000)
  })

  it("drops the hop-by-hop headers of the origin's answer, and those its Connection names", async () => {
    const response = await gateway('/__hop-by-hop', { headers: { cookie } })
    expect(await response.text()).toBe('hop')
    expect(response.headers.get('x-origin')).toBe('demo')
    expect(response.headers.get('x-origin-hop')).toBeNull()
    expect(response.headers.get('keep-alive')).toBeNull()
  })

  it('answers 502 JSON when the origin cannot be reached', async () => {
    const response = await gatewayWith({ ORIGIN_URL: 'http://127.0.0.1:1' }, '/x', {
      headers: { cookie },
    })
    expect(response.status).toBe(502)
    expect(await response.json()).toMatchObject({ error: 'origin_unavailable' })
  })
})

describe('requests without a session', () => {
  it('sends a browser navigation to the sign-in page with its path and query', async () => {
    const response = await gateway('/reports/q3?format=pdf', { headers: { accept: 'text/html' } })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe(
      '/auth/login?returnTo=%2Freports%2Fq3%3Fformat%3Dpdf',
    )
  })

  it.each([
    ['an API GET', { method: 'GET', headers: { accept: 'application/json' } }],
    ['a GET with no Accept', { method: 'GET' }],
    ['a POST from a browser', { method: 'POST', headers: { accept: 'text/html' }, body: 'x' }],
    ['a DELETE', { method: 'DELETE' }],
  ])('answers %s with 401 JSON, never a redirect', async (_, init) => {
    const response = await gateway('/api/thing', init as RequestInit)
    expect(response.status).toBe(401)
    expect(response.headers.get('content-type')).toMatch(/application\/json/)
    expect(await response.json()).toMatchObject({ error: 'not_signed_in' })
  })

  it('never reaches the origin', async () => {
    const response = await gateway('/__status/200', { method: 'POST', body: 'x' })
    expect(response.headers.get('x-origin')).toBeNull()
  })
})

describe('caching', () => {
  it('asks the origin with no-store, so a personalised answer is never cached by URL', async () => {
    const { cookie } = await signIn()
    const response = await gateway('/personal', {
      headers: { cookie },
    })
    const seen = (await response.json()) as Echo
    // workerd marks a `cache: 'no-store'` subrequest this way; without it the header is absent.
    expect(seen.headers['cache-control']).toBe('no-cache')
  })
})

describe('PUBLIC_PATHS', () => {
  const settings = { PUBLIC_PATHS: '/assets/*, /status' }

  it('passes public paths through without a session and without identity', async () => {
    for (const path of ['/assets/app.css', '/assets/img/logo.svg?v=3', '/status', '/status?x=1']) {
      const response = await gatewayWith(settings, path, {
        headers: { 'x-auth-user': 'spoofed', 'x-auth-email': 'spoofed@evil.example' },
      })
      expect(response.status).toBe(200)
      const seen = (await response.json()) as Echo
      expect(seen.headers['x-auth-user']).toBeUndefined()
      expect(seen.headers['x-auth-email']).toBeUndefined()
    }
  })

  it.each([
    '/statusx',
    '/status/',
    '/assets',
    '/Assets/app.css',
    '/assets/..%2Fadmin',
    '/assets/%2e%2e/admin',
    '/assets/..;/admin',
    '/assets/../admin',
    // Double encoding: an origin that decodes twice reads these as /assets/../admin.
    '/assets/%252e%252e/admin',
    '/assets/..%252fadmin',
    '/assets/%252E%252E%252Fadmin',
    // IIS-style %u escapes.
    '/assets/%u002e%u002e/admin',
    '/assets/..%u2215admin',
  ])('still guards %s', async (path) => {
    const response = await gatewayWith(settings, path, { headers: { accept: 'application/json' } })
    expect(response.status).toBe(401)
  })
})
