import { env, exports } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { ConfigError, parseConfig } from '../src/config'
import wranglerToml from '../wrangler.toml?raw'
import {
  gateway,
  gatewayWith,
  json,
  mailFor,
  newAssertionKey,
  productionSettings,
  signIn,
  uniqueEmail,
} from './helpers'

const base = env as unknown as Record<string, unknown>

function problemsOf(overrides: Record<string, unknown>): string[] {
  try {
    parseConfig({ ...base, ...overrides })
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable)
    throw error
  }
  return []
}

describe('configuration', () => {
  it('accepts the test settings and fills the defaults', () => {
    const config = parseConfig(base)
    expect(config.sessionTtlSeconds).toBe(604800)
    expect(config.emailDelivery).toBe('workos')
    expect(config.devMode).toBe(true)
    expect(Object.isFrozen(config)).toBe(true)
  })

  it.each([
    ['SESSION_SECRET', { SESSION_SECRET: undefined }],
    ['SESSION_SECRET', { SESSION_SECRET: 'short' }],
    ['SESSION_SECRET', { SESSION_SECRET: 'a'.repeat(40) + ',short' }],
    ['ORIGIN_URL', { ORIGIN_URL: undefined }],
    ['ORIGIN_URL', { ORIGIN_URL: 'ftp://files.example' }],
    ['ORIGIN_URL', { ORIGIN_URL: 'not a url' }],
    ['SESSION_TTL_SECONDS', { SESSION_TTL_SECONDS: '30' }],
    ['SESSION_TTL_SECONDS', { SESSION_TTL_SECONDS: 'week' }],
    ['EMAIL_DELIVERY', { EMAIL_DELIVERY: 'smtp' }],
    ['WORKOS_API_URL', { WORKOS_API_URL: 'http://127.0.0.1:4100/v1' }],
    ['PUBLIC_PATHS', { PUBLIC_PATHS: 'assets/*' }],
    ['PUBLIC_PATHS', { PUBLIC_PATHS: '/auth/*' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'gateway.example' }],
    ['WORKOS_API_KEY', { DEV_MODE: undefined, WORKOS_API_KEY: undefined }],
    ['WORKOS_API_KEY', { WORKOS_API_KEY: 'pk_live_123' }],
    ['WORKOS_CLIENT_ID', { DEV_MODE: undefined, WORKOS_CLIENT_ID: undefined }],
    [
      'EMAIL_API_KEY',
      {
        DEV_MODE: undefined,
        EMAIL_DELIVERY: 'custom',
        WORKOS_API_KEY: 'sk_test_x',
        WORKOS_CLIENT_ID: 'client_x',
      },
    ],
  ])('names %s when it is wrong', (variable, overrides) => {
    expect(problemsOf(overrides)).toContain(variable)
  })

  it('reports every problem at once', () => {
    const problems = problemsOf({
      SESSION_SECRET: 'short',
      ORIGIN_URL: undefined,
      EMAIL_DELIVERY: 'x',
    })
    expect(problems).toEqual(
      expect.arrayContaining(['SESSION_SECRET', 'ORIGIN_URL', 'EMAIL_DELIVERY']),
    )
  })

  it.each([
    ['an sk_live_ key', { WORKOS_API_KEY: 'sk_live_abc123' }, ['DEV_MODE', 'WORKOS_API_KEY']],
    [
      'a WorkOS that is not on this machine',
      { WORKOS_API_URL: 'https://api.workos.com' },
      ['DEV_MODE', 'WORKOS_API_URL'],
    ],
    ['no emulator at all', { WORKOS_API_URL: undefined }, ['DEV_MODE', 'WORKOS_API_URL']],
    [
      'a look-alike of localhost',
      { WORKOS_API_URL: 'http://127.0.0.1.evil.example:4100' },
      ['DEV_MODE', 'WORKOS_API_URL'],
    ],
  ])('refuses DEV_MODE with %s, naming both settings', (_, overrides, named) => {
    expect(problemsOf(overrides)).toEqual(expect.arrayContaining(named))
  })

  it.each(['http://localhost:4100', 'http://127.0.0.1:4100', 'http://[::1]:4100'])(
    'accepts DEV_MODE with the emulator on %s',
    (url) => {
      expect(problemsOf({ WORKOS_API_URL: url })).toEqual([])
    },
  )

  it('outside dev mode, PUBLIC_URL is required (the Host header must not choose links)', async () => {
    const production = await productionSettings()
    expect(problemsOf({ ...production, PUBLIC_URL: undefined })).toEqual(['PUBLIC_URL'])
    expect(problemsOf(production)).toEqual([])
  })

  it('keeps request URLs out of Workers Logs: invocation logs are off in wrangler.toml', () => {
    // Invocation logs record each request's full URL (/auth/callback?code=…, /auth/magic/<token>).
    expect(wranglerToml).toMatch(/\[observability\.logs\][^[]*invocation_logs\s*=\s*false/)
  })

  it('checks every area and fails once, naming each wrong variable', () => {
    // One setting wrong in each area's validator (src/config/): none stops the others.
    const wrong = {
      WORKOS_API_KEY: 'pk_test_abc',
      WORKOS_TIMEOUT_MS: '5',
      SESSION_SECRET: 'short',
      SESSION_CACHE_SECONDS: '61',
      EMAIL_DELIVERY: 'smtp',
      ORIGIN_URL: 'ftp://files.example',
      ALLOWED_HOSTS: 'not a host',
      ASSERTION_AUDIENCE: ' ',
      SIGN_IN_METHODS: 'sso',
      ACCENT_COLOR: 'red',
      LOG_REQUESTS: 'some',
      ADMIN_TOKEN: 'short',
      SEND_LIMIT_IP: undefined,
    }
    expect([...new Set(problemsOf(wrong))].sort()).toEqual(Object.keys(wrong).sort())
  })

  it('SIGN_IN_METHODS names only methods (src/sign-in/methods.ts), once each, not SSO first', () => {
    for (const value of ['code,password', 'code,code', 'sso,code', 'toString', ''])
      expect(problemsOf({ SIGN_IN_METHODS: value }), value).toEqual(['SIGN_IN_METHODS'])
    expect(problemsOf({ SIGN_IN_METHODS: 'LINK, code' })).toEqual([])
  })

  it('without DEV_MODE there are no dev credentials', () => {
    const problems = problemsOf({ DEV_MODE: 'false' })
    expect(problems).toEqual(expect.arrayContaining(['WORKOS_API_KEY', 'WORKOS_CLIENT_ID']))
  })
})

describe('a misconfigured gateway', () => {
  it('fails closed with a generic 500 and a log line naming the variable, never its value', async () => {
    const secret = 'too-short-secret-value'
    const logged = vi.spyOn(console, 'log')
    try {
      const response = await gatewayWith({ SESSION_SECRET: secret }, '/anything', {
        headers: { accept: 'text/html' },
      })
      expect(response.status).toBe(500)
      const page = await response.text()
      expect(page).toContain('not configured correctly')
      expect(page).not.toContain(secret)
      expect(page).not.toContain('SESSION_SECRET')
      const lines = logged.mock.calls.map((call) => String(call[0]))
      const line = lines.find((l) => l.includes('config_invalid'))
      expect(line).toContain('SESSION_SECRET')
      expect(lines.join('\n')).not.toContain(secret)
    } finally {
      logged.mockRestore()
    }
  })

  it('names ASSERTION_KEYS when a key has the right shape but cannot be imported', async () => {
    const key = await newAssertionKey('broken')
    const logged = vi.spyOn(console, 'log')
    try {
      const { cookie } = await signIn()
      const response = await gatewayWith(
        { ASSERTION_KEYS: JSON.stringify([{ ...key, x: key.y, y: key.x }]) },
        '/api',
        { headers: { cookie } },
      )
      expect(response.status).toBe(500)
      const lines = logged.mock.calls.map((call) => String(call[0]))
      expect(lines.find((l) => l.includes('config_invalid'))).toContain('ASSERTION_KEYS')
      expect(lines.join('\n')).not.toContain(key.d!)
    } finally {
      logged.mockRestore()
    }
  })

  it('does not proxy anything, not even a public path', async () => {
    const response = await gatewayWith(
      { PUBLIC_PATHS: '/open', SESSION_SECRET: undefined },
      '/open',
    )
    expect(response.status).toBe(500)
    expect(response.headers.get('x-origin')).toBeNull()
    expect(await response.json()).toEqual({
      error: 'misconfigured',
      message: 'The gateway is not configured correctly.',
    })
  })
})

describe('request logs', () => {
  it('write one JSON line per request with id, route, status, duration and outcome', async () => {
    const logged = vi.spyOn(console, 'log')
    try {
      const response = await gateway('/api/anything', { headers: { accept: 'application/json' } })
      const lines = logged.mock.calls.map((call) => JSON.parse(String(call[0])))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatchObject({
        requestId: response.headers.get('x-request-id'),
        method: 'GET',
        route: '/*',
        status: 401,
        outcome: 'refused_not_signed_in',
      })
      expect(typeof lines[0].durationMs).toBe('number')
    } finally {
      logged.mockRestore()
    }
  })

  it('with LOG_REQUESTS=errors, keep only answers of 400 and above', async () => {
    const logged = vi.spyOn(console, 'log')
    try {
      await gatewayWith({ LOG_REQUESTS: 'errors' }, '/healthz')
      expect(logged).not.toHaveBeenCalled()
      await gatewayWith({ LOG_REQUESTS: 'errors' }, '/auth/login')
      expect(logged).not.toHaveBeenCalled()
      await gatewayWith({ LOG_REQUESTS: 'errors' }, '/api', {
        headers: { accept: 'application/json' },
      })
      expect(logged).toHaveBeenCalledTimes(1)
    } finally {
      logged.mockRestore()
    }
  })

  it("by default (auth), log the gateway's own answers and every error, not the origin's successes", async () => {
    const { cookie } = await signIn()
    const byDefault = { LOG_REQUESTS: undefined }
    const logged = vi.spyOn(console, 'log')
    const outcomes = () =>
      logged.mock.calls.map((call) => (JSON.parse(String(call[0])) as { outcome: string }).outcome)
    try {
      // Left out: a signed-in request the origin answered, and the polled endpoints.
      expect((await gatewayWith(byDefault, '/plain', { headers: { cookie } })).status).toBe(200)
      expect((await gatewayWith(byDefault, '/healthz')).status).toBe(200)
      expect((await gatewayWith(byDefault, '/.well-known/jwks.json')).status).toBe(200)
      expect(outcomes()).toEqual([])
      // Written: a refusal, the gateway's own pages, and the origin's errors.
      await gatewayWith(byDefault, '/api', { headers: { accept: 'application/json' } })
      await gatewayWith(byDefault, '/auth/me', { headers: { cookie } })
      await gatewayWith(byDefault, '/__status/500', { headers: { cookie } })
      expect(outcomes()).toEqual(['refused_not_signed_in', 'ok', 'proxied'])
    } finally {
      logged.mockRestore()
    }
  })

  it('with LOG_REQUESTS=all, log the successes the origin answered too', async () => {
    const { cookie } = await signIn()
    const logged = vi.spyOn(console, 'log')
    try {
      await gatewayWith({ LOG_REQUESTS: 'all' }, '/plain', { headers: { cookie } })
      await gatewayWith({ LOG_REQUESTS: 'all' }, '/healthz')
      expect(logged).toHaveBeenCalledTimes(2)
    } finally {
      logged.mockRestore()
    }
  })

  it('refuse a LOG_REQUESTS it does not know, naming the values', () => {
    try {
      parseConfig({ ...base, LOG_REQUESTS: 'some' })
      expect.unreachable('LOG_REQUESTS=some was accepted')
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        { variable: 'LOG_REQUESTS', problem: 'must be "all", "auth" or "errors"' },
      ])
    }
  })
})

describe('health and dev routes', () => {
  it('GET /healthz answers {ok:true}', async () => {
    const response = await gateway('/healthz')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ ok: true })
  })

  it('serves the dev mailbox in dev mode', async () => {
    const json = await gateway('/__dev/mailbox.json')
    expect(json.status).toBe(200)
    expect(Array.isArray(((await json.json()) as { messages: unknown[] }).messages)).toBe(true)
    const page = await gateway('/__dev/mailbox', { headers: { accept: 'text/html' } })
    expect(await page.text()).toContain('Dev mailbox')
  })

  it('answers 404 for /__dev/* without DEV_MODE', async () => {
    const settings = {
      DEV_MODE: undefined,
      WORKOS_API_KEY: 'sk_test_emulator',
      WORKOS_CLIENT_ID: 'client_emulator',
      ASSERTION_KEYS: JSON.stringify([await newAssertionKey()]),
    }
    expect((await gatewayWith(settings, '/__dev/mailbox.json')).status).toBe(404)
    expect((await gatewayWith(settings, '/__dev/mailbox')).status).toBe(404)
  })

  it('refuses to send a sign-in email for a request to another host than PUBLIC_URL', async () => {
    for (const route of ['/auth/magic-link', '/auth/magic-auth']) {
      const email = uniqueEmail()
      const response = await exports.default.fetch(
        new Request(`http://attacker.example:9999${route}`, json({ email })),
      )
      expect(response.status).toBe(421)
      expect(await response.json()).toMatchObject({ error: 'wrong_host' })
      expect(await mailFor(email)).toHaveLength(0)
    }
  })

  it('answers 404 for an unknown /auth/ route instead of proxying it', async () => {
    const response = await gateway('/auth/nope')
    expect(response.status).toBe(404)
    expect(response.headers.get('x-origin')).toBeNull()
  })
})
