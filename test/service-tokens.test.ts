import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { Hono } from 'hono'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { configFor } from '../src/config'
import type { AppEnv } from '../src/app-env'
import { sha256 } from '../src/crypto'
import { renderError } from '../src/errors'
import {
  CLIENT_ID_HEADER,
  CLIENT_SECRET_HEADER,
  recordFailedPresentation,
  verifyServiceToken,
} from '../src/service-tokens/verify'
import { controlledKv, countingKv, gateway, gatewayWith, json } from './helpers'

const kv = env.SESSIONS
const ADMIN = 'test-admin-token-0123456789-abcdefghijkl'
const asAdmin = { authorization: `Bearer ${ADMIN}` }
const PATH = '/auth/admin/service-tokens'

interface Created {
  id: string
  name: string
  clientId: string
  clientSecret: string
  createdAt: string
  expiresAt: string | null
}
interface Listed {
  id: string
  name: string
  clientId: string
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
}

const createRequest = (body: unknown, headers: Record<string, string> = asAdmin) =>
  gateway(PATH, json(body, headers))
const listRequest = (headers: Record<string, string> = asAdmin) => gateway(PATH, { headers })
// A DELETE carries a JSON content type, as scripts/token.ts sends it: without one, the /auth/*
// CSRF check takes it for a form post.
const revokeRequest = (id: string, headers: Record<string, string> = asAdmin) =>
  gatewayWith({}, `${PATH}/${id}`, {
    method: 'DELETE',
    headers: { 'content-type': 'application/json', ...headers },
  })

async function createToken(body: object = { name: 'ci-bot' }): Promise<Created> {
  const response = await createRequest(body)
  expect(response.status).toBe(201)
  return (await response.json()) as Created
}

async function listTokens(): Promise<Listed[]> {
  const response = await listRequest()
  expect(response.status).toBe(200)
  return ((await response.json()) as { tokens: Listed[] }).tokens
}

// The gate's side, as the access decision will call it: a tiny app in front of the real
// verifier, with the Worker's bindings (real KV, the real Rate Limiting binding) and config.
const probe = new Hono<AppEnv>()
probe.use(async function loadConfig(c, next) {
  c.set('config', configFor(c.env))
  await next()
})
probe.get('/', async (c) => {
  const token = await verifyServiceToken(
    c,
    c.req.header(CLIENT_ID_HEADER) ?? '',
    c.req.header(CLIENT_SECRET_HEADER) ?? '',
  )
  if (token) return c.json(token)
  await recordFailedPresentation(c)
  return c.json({ error: 'unauthorized' }, 401)
})
probe.onError(renderError)

const randomByte = () => Math.floor(Math.random() * 256)

async function present(
  credentials: { clientId: string; clientSecret: string },
  options: { bindings?: Record<string, unknown>; ip?: string } = {},
): Promise<Response> {
  const ctx = createExecutionContext()
  const response = await probe.request(
    '/',
    {
      headers: {
        [CLIENT_ID_HEADER]: credentials.clientId,
        [CLIENT_SECRET_HEADER]: credentials.clientSecret,
        // A fresh client per call, so the failed-presentation limit trips only where meant to.
        'cf-connecting-ip': options.ip ?? `198.19.${randomByte()}.${randomByte()}`,
      },
    },
    { ...env, ...options.bindings },
    ctx,
  )
  await waitOnExecutionContext(ctx)
  return response
}

const anotherSecret = () =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

afterEach(() => {
  vi.useRealTimers()
})

describe('service token admin API', () => {
  it('creates a token and shows its secret once; the list never shows it', async () => {
    const before = Date.now()
    const response = await createRequest({ name: 'ci-bot', expiresInSeconds: 3600 })
    expect(response.status).toBe(201)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const token = (await response.json()) as Created
    expect(Object.keys(token).sort()).toEqual(
      ['clientId', 'clientSecret', 'createdAt', 'expiresAt', 'id', 'name'].sort(),
    )
    expect(token.id).toMatch(/^svc_[A-Za-z0-9_-]{20}$/)
    expect(token.clientId).toMatch(/^cid_[A-Za-z0-9_-]{20}$/)
    expect(token.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(token.name).toBe('ci-bot')
    const createdAt = Date.parse(token.createdAt)
    expect(createdAt).toBeGreaterThanOrEqual(before)
    expect(Date.parse(token.expiresAt!)).toBe(createdAt + 3600_000)

    const listed = await listRequest()
    const text = await listed.text()
    expect(text).not.toContain(token.clientSecret)
    expect(text).not.toContain(await sha256(token.clientSecret))
    const entry = (JSON.parse(text) as { tokens: Listed[] }).tokens.find((t) => t.id === token.id)
    expect(entry).toEqual({
      id: token.id,
      name: 'ci-bot',
      clientId: token.clientId,
      createdAt: token.createdAt,
      expiresAt: token.expiresAt,
      lastUsedAt: null,
    })
  })

  it('keeps no secret in clear in KV: only its SHA-256', async () => {
    const token = await createToken()
    expect((await present(token)).status).toBe(200)
    const { keys } = await kv.list({ prefix: 'service-token' })
    const mine = keys.filter((k) => k.name.endsWith(token.id)).map((k) => k.name)
    expect(mine.sort()).toEqual([`service-token-used:${token.id}`, `service-token:${token.id}`])
    const hash = await sha256(token.clientSecret)
    let hashes = 0
    for (const { name } of keys) {
      expect(name).not.toContain(token.clientSecret)
      const value = (await kv.get(name, 'text')) ?? ''
      expect(value).not.toContain(token.clientSecret)
      if (value.includes(hash)) hashes++
    }
    expect(hashes).toBe(1)
  })

  it('lets names repeat (rotation); a token made without expiresInSeconds never expires', async () => {
    const first = await createToken({ name: 'deploy-bot' })
    const second = await createToken({ name: 'deploy-bot' })
    expect(first.id).not.toBe(second.id)
    expect(first.expiresAt).toBeNull()
    const listed = (await listTokens()).filter((t) => t.name === 'deploy-bot').map((t) => t.id)
    expect(listed).toEqual(expect.arrayContaining([first.id, second.id]))
    // The bounds are allowed.
    await createToken({ name: 'a'.repeat(64), expiresInSeconds: 60 })
    await createToken({ name: '0-9', expiresInSeconds: 31536000 })
  })

  it('refuses bad bodies with 400 and a JSON error naming the field', async () => {
    const cases: [unknown, string, string][] = [
      [{}, 'invalid_name', '"name"'],
      [{ name: '' }, 'invalid_name', '"name"'],
      [{ name: 'CI Bot' }, 'invalid_name', '"name"'],
      [{ name: 'a'.repeat(65) }, 'invalid_name', '"name"'],
      [{ name: 7 }, 'invalid_name', '"name"'],
      [{ name: 'ok', expiresInSeconds: 59 }, 'invalid_expires_in_seconds', '"expiresInSeconds"'],
      [
        { name: 'ok', expiresInSeconds: 31536001 },
        'invalid_expires_in_seconds',
        '"expiresInSeconds"',
      ],
      [{ name: 'ok', expiresInSeconds: 90.5 }, 'invalid_expires_in_seconds', '"expiresInSeconds"'],
      [{ name: 'ok', expiresInSeconds: '1h' }, 'invalid_expires_in_seconds', '"expiresInSeconds"'],
      // A misspelt expiry must not make a token that never expires.
      [{ name: 'ok', expiresIn: 3600 }, 'unknown_field', '"expiresIn"'],
      [['ci-bot'], 'invalid_body', 'JSON object'],
    ]
    for (const [body, error, names] of cases) {
      const response = await createRequest(body)
      expect(response.status, JSON.stringify(body)).toBe(400)
      const answer = (await response.json()) as { error: string; message: string }
      expect(answer.error, JSON.stringify(body)).toBe(error)
      expect(answer.message).toContain(names)
    }
    const broken = await gateway(PATH, {
      method: 'POST',
      headers: { ...asAdmin, 'content-type': 'application/json' },
      body: '{"name": ',
    })
    expect(broken.status).toBe(400)
    expect(await broken.json()).toMatchObject({ error: 'invalid_json' })
  })

  it('requires the admin token: 401 when missing or wrong, 404 when ADMIN_TOKEN is unset', async () => {
    const token = await createToken()
    const refused: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${ADMIN}x` },
      { authorization: ADMIN },
    ]
    for (const headers of refused) {
      const answers = [
        await createRequest({ name: 'sneaky' }, headers),
        await listRequest(headers),
        await revokeRequest(token.id, headers),
      ]
      for (const answer of answers) {
        expect(answer.status).toBe(401)
        expect(answer.headers.get('www-authenticate')).toBe('Bearer')
      }
    }
    const off = { ADMIN_TOKEN: undefined }
    const init = { headers: { ...asAdmin, 'content-type': 'application/json' } }
    expect((await gatewayWith(off, PATH, json({ name: 'x' }, asAdmin))).status).toBe(404)
    expect((await gatewayWith(off, PATH, init)).status).toBe(404)
    expect(
      (await gatewayWith(off, `${PATH}/${token.id}`, { ...init, method: 'DELETE' })).status,
    ).toBe(404)
    // Nothing was made or revoked meanwhile.
    const names = (await listTokens()).map((t) => t.name)
    expect(names).not.toContain('sneaky')
    expect((await present(token)).status).toBe(200)
  })

  it('revokes: 200 {"success": true}, then 404 token_not_found', async () => {
    const token = await createToken()
    const revoked = await revokeRequest(token.id)
    expect(revoked.status).toBe(200)
    expect(await revoked.json()).toEqual({ success: true })
    expect((await listTokens()).map((t) => t.id)).not.toContain(token.id)
    expect(await kv.get(`service-token:${token.id}`)).toBeNull()
    for (const id of [token.id, 'svc_AAAAAAAAAAAAAAAAAAAA', 'nope', token.clientId]) {
      const again = await revokeRequest(id)
      expect(again.status).toBe(404)
      expect(await again.json()).toMatchObject({ error: 'token_not_found' })
    }
  })
})

describe('verifyServiceToken', () => {
  it('accepts the right secret and refuses a wrong one or another token’s', async () => {
    const token = await createToken({ name: 'ci-bot' })
    const other = await createToken({ name: 'other' })
    const right = await present(token)
    expect(right.status).toBe(200)
    expect(await right.json()).toEqual({ id: token.id, name: 'ci-bot', expiresAt: null })
    expect((await present({ ...token, clientSecret: anotherSecret() })).status).toBe(401)
    expect((await present({ ...token, clientSecret: other.clientSecret })).status).toBe(401)
    expect((await present({ ...other, clientId: token.clientId })).status).toBe(401)
  })

  it('refuses malformed credentials without reading KV', async () => {
    const token = await createToken()
    const counting = countingKv()
    const malformed = [
      { ...token, clientSecret: '' },
      { ...token, clientSecret: token.clientSecret.slice(1) },
      { ...token, clientSecret: `${token.clientSecret}A` },
      { ...token, clientSecret: `${token.clientSecret.slice(0, -1)}+` },
      { ...token, clientId: '' },
      { ...token, clientId: token.id },
      { ...token, clientId: `${token.clientId}A` },
      { ...token, clientId: `cid_${'/'.repeat(20)}` },
    ]
    for (const credentials of malformed) {
      const response = await present(credentials, { bindings: { SESSIONS: counting.binding } })
      expect(response.status).toBe(401)
    }
    expect(counting.counts.get).toBe(0)
  })

  it('reads KV once per presentation (a bulk read), or not at all from the cache', async () => {
    const token = await createToken()
    const uncached = countingKv()
    expect((await present(token, { bindings: { SESSIONS: uncached.binding } })).status).toBe(200)
    expect(uncached.counts.get).toBe(1)
    const cached = countingKv()
    const bindings = { SESSIONS: cached.binding, SESSION_CACHE_SECONDS: '60' }
    for (let i = 0; i < 3; i++) expect((await present(token, { bindings })).status).toBe(200)
    expect(cached.counts.get).toBe(1)
  })

  it('refuses an expired token', async () => {
    const token = await createToken({ name: 'short-lived', expiresInSeconds: 60 })
    expect((await present(token)).status).toBe(200)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.parse(token.expiresAt!) - 1000)
    expect((await present(token)).status).toBe(200)
    vi.setSystemTime(Date.parse(token.expiresAt!) + 1)
    expect((await present(token)).status).toBe(401)
    // Even from the cache, which never outlives the token.
    expect((await present(token, { bindings: { SESSION_CACHE_SECONDS: '60' } })).status).toBe(401)
    expect((await listTokens()).map((t) => t.id)).not.toContain(token.id)
  })

  it('refuses a revoked token at once in this isolate, even with a warm cache', async () => {
    const token = await createToken()
    const counting = countingKv()
    const bindings = { SESSIONS: counting.binding, SESSION_CACHE_SECONDS: '60' }
    expect((await present(token, { bindings })).status).toBe(200)
    expect((await present(token, { bindings })).status).toBe(200)
    expect(counting.counts.get).toBe(1) // the second answer came from the cache
    expect((await revokeRequest(token.id)).status).toBe(200)
    expect((await present(token, { bindings })).status).toBe(401)
    expect((await present(token)).status).toBe(401)
  })

  it('writes lastUsedAt at most once per 5 minutes per token, never into the record', async () => {
    const token = await createToken()
    const record = await kv.get(`service-token:${token.id}`, 'text')
    const counting = countingKv()
    const bindings = { SESSIONS: counting.binding }
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(start)
    for (let i = 0; i < 3; i++) expect((await present(token, { bindings })).status).toBe(200)
    expect(counting.counts.put).toBe(1)
    const first = (await listTokens()).find((t) => t.id === token.id)!
    expect(first.lastUsedAt).toBe(new Date(start).toISOString())

    vi.setSystemTime(start + 4 * 60_000)
    expect((await present(token, { bindings })).status).toBe(200)
    expect(counting.counts.put).toBe(1)

    vi.setSystemTime(start + 5 * 60_000)
    expect((await present(token, { bindings })).status).toBe(200)
    expect((await present(token, { bindings })).status).toBe(200)
    expect(counting.counts.put).toBe(2)
    const second = (await listTokens()).find((t) => t.id === token.id)!
    expect(second.lastUsedAt).toBe(new Date(start + 5 * 60_000).toISOString())
    expect(await kv.get(`service-token:${token.id}`, 'text')).toBe(record)
  })

  it('a last-use write landing after the revocation does not bring the token back', async () => {
    const token = await createToken()
    const slow = controlledKv({
      hold: (op, key) => op === 'put' && key.startsWith('service-token-used:'),
      acknowledgeAtOnce: true,
    })
    expect((await present(token, { bindings: { SESSIONS: slow.binding } })).status).toBe(200)
    expect(slow.held()).toEqual(['put service-token-used'])
    expect((await revokeRequest(token.id)).status).toBe(200)
    await slow.release()
    // What another isolate would read: no record, so nothing to honour.
    expect(await kv.get(`service-token:${token.id}`)).toBeNull()
    expect((await present(token)).status).toBe(401)
    expect((await listTokens()).map((t) => t.id)).not.toContain(token.id)
  })

  it('fails closed with 503 when KV fails or hangs', async () => {
    const token = await createToken()
    for (const mode of ['throw', 'hang'] as const) {
      const failing = new Proxy(kv, {
        get(target, name: string) {
          const value = (target as unknown as Record<string, unknown>)[name]
          if (name !== 'get' || typeof value !== 'function') return value
          return () =>
            mode === 'throw' ? Promise.reject(new Error('KV GET failed')) : new Promise(() => {})
        },
      })
      const response = await present(token, { bindings: { SESSIONS: failing } })
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBeTruthy()
      expect(await response.json()).toMatchObject({ error: 'session_store_unavailable' })
    }
  })

  it('limits failed presentations per client: 429 with Retry-After, then refuses it outright', async () => {
    const token = await createToken()
    const wrong = { ...token, clientSecret: anotherSecret() }
    const ip = `203.0.113.${100 + Math.floor(Math.random() * 100)}`
    // The binding counts in fixed 10 s windows: start early in one.
    const intoWindow = Date.now() % 10_000
    if (intoWindow > 7000) await new Promise((done) => setTimeout(done, 10_100 - intoWindow))
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) statuses.push((await present(wrong, { ip })).status)
    expect(statuses).toEqual([...Array(10).fill(401), 429])
    const limited = await present(wrong, { ip })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('10')
    expect(await limited.json()).toMatchObject({ error: 'too_many_attempts' })
    // Refused before any KV read, even with the right secret, until the window has passed.
    const counting = countingKv()
    const right = await present(token, { ip, bindings: { SESSIONS: counting.binding } })
    expect(right.status).toBe(429)
    expect(counting.counts.get).toBe(0)
    // Another client is not affected.
    expect((await present(token)).status).toBe(200)
  })
})
