import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { Config } from '../src/config'
import type { AppEnv } from '../src/app-env'
import { GATEWAY_COOKIES, type GatewayCookie } from '../src/cookies/declarations'
import {
  clearGatewayCookie,
  readGatewayCookie,
  setGatewayCookie,
} from '../src/cookies/gateway-cookie'
import { isGatewayCookieName } from '../src/cookies/origin-filter'
import { hmacSign, randomToken, seal, unseal } from '../src/crypto'

// The cookie module against the wire: cookies already in browsers must keep working, so each
// cookie's name, attributes, value format and crypto label are pinned here as the gateway wrote
// them before the cookies were declared in one place.

const SECRET = 'cookie-test-secret-0123456789-abcdefghij'
const RETIRED = 'cookie-test-retired-0123456789-abcdefgh'
// Only what the cookies read: the secrets (the first signs, all verify) and the session's lifetime.
const config = {
  sessionSecrets: [SECRET, RETIRED],
  sessionTtlSeconds: 3600,
} satisfies Partial<Config> as unknown as Config

type Key = keyof typeof GATEWAY_COOKIES
const declared = (key: string) => GATEWAY_COOKIES[key as Key] as GatewayCookie

// A tiny app that sets, reads and clears any declared cookie, under the config above.
const app = new Hono<AppEnv>()
app.use(async function loadConfig(c, next) {
  c.set('config', config)
  await next()
})
app.post('/:key', async (c) => {
  const cookie = declared(c.req.param('key'))
  const content = await c.req.json<string | Record<string, string>>()
  const value =
    cookie.protection === 'sealed'
      ? await setGatewayCookie(c, cookie, content as string)
      : await setGatewayCookie(c, cookie, content as Record<string, string>)
  return c.json({ value })
})
app.get('/:key', async (c) => {
  const cookie = declared(c.req.param('key'))
  const presented = c.req.query('presented')
  return c.json(
    cookie.protection === 'sealed'
      ? await readGatewayCookie(c, cookie, presented)
      : await readGatewayCookie(c, cookie),
  )
})
app.delete('/:key', (c) => {
  clearGatewayCookie(c, declared(c.req.param('key')))
  return c.body(null, 204)
})

async function set(key: Key, content: unknown) {
  const response = await app.request(`/${key}`, { method: 'POST', body: JSON.stringify(content) })
  const { value } = (await response.json()) as { value: string }
  return { value, setCookie: response.headers.get('set-cookie') }
}

async function read(key: Key, cookie?: string, presented?: string) {
  const query = presented === undefined ? '' : `?presented=${encodeURIComponent(presented)}`
  const response = await app.request(`/${key}${query}`, { headers: cookie ? { cookie } : {} })
  return (await response.json()) as Record<string, string>
}

const SIGNED = {
  session: { name: '__Host-session', label: 'session-cookie', sameSite: 'Lax', maxAge: 3600 },
  signin: { name: '__Host-signin', label: 'signin-nonce', sameSite: 'Lax', maxAge: 1800 },
  handoff: { name: '__Host-handoff', label: 'handoff-nonce', sameSite: 'None', maxAge: 1800 },
} as const
const fieldsOf = (key: keyof typeof SIGNED) =>
  key === 'session'
    ? { sessionId: randomToken(32), personKey: randomToken(32) }
    : { nonce: randomToken(32) }

describe('each gateway cookie keeps its wire format', () => {
  for (const key of Object.keys(SIGNED) as (keyof typeof SIGNED)[]) {
    const expected = SIGNED[key]
    it(`${key}: <parts>.<HMAC under "${expected.label}">, with its attributes`, async () => {
      const fields = fieldsOf(key)
      const message = Object.values(fields).join('.')
      const { value, setCookie } = await set(key, fields)
      expect(value).toBe(`${message}.${await hmacSign(SECRET, expected.label, message)}`)
      expect(setCookie).toBe(
        `${expected.name}=${value}; Max-Age=${expected.maxAge}; ` +
          `Path=/; HttpOnly; Secure; SameSite=${expected.sameSite}`,
      )
      expect(await read(key, `${expected.name}=${value}`)).toEqual({ state: 'valid', ...fields })
    })

    it(`${key}: one signed the old way, by a retired secret, still reads`, async () => {
      const fields = fieldsOf(key)
      const message = Object.values(fields).join('.')
      const value = `${message}.${await hmacSign(RETIRED, expected.label, message)}`
      expect(await read(key, `${expected.name}=${value}`)).toEqual({ state: 'valid', ...fields })
    })

    it(`${key}: cleared with the attributes it was set with`, async () => {
      const response = await app.request(`/${key}`, { method: 'DELETE' })
      expect(response.headers.get('set-cookie')).toBe(
        `${expected.name}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=${expected.sameSite}`,
      )
    })
  }

  it('pendingCode: sealed under "magic-auth-pending", 10 min, read from a token too', async () => {
    const plaintext = JSON.stringify({ email: 'a@example.com' })
    const { value, setCookie } = await set('pendingCode', plaintext)
    expect(await unseal([SECRET], 'magic-auth-pending', value)).toBe(plaintext)
    expect(setCookie).toBe(
      `__Host-magic-auth=${value}; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Lax`,
    )
    const valid = { state: 'valid', plaintext }
    expect(await read('pendingCode', `__Host-magic-auth=${value}`)).toEqual(valid)
    expect(await read('pendingCode', undefined, value)).toEqual(valid)
    const retired = await seal(RETIRED, 'magic-auth-pending', plaintext)
    expect(await read('pendingCode', `__Host-magic-auth=${retired}`)).toEqual(valid)
    expect(await read('pendingCode', `__Host-magic-auth=${value}`, 'x')).toEqual({
      state: 'invalid',
    })
  })
})

describe('what is not genuine', () => {
  it('absent, malformed, altered or extra-part values', async () => {
    const { value } = await set('session', fieldsOf('session'))
    const altered = `${value.slice(0, -2)}${value.endsWith('AA') ? 'BA' : 'AA'}`
    expect(await read('session')).toEqual({ state: 'absent' })
    expect(await read('session', '__Host-session=')).toEqual({ state: 'invalid' })
    expect(await read('session', '__Host-session=%E0%A4%A')).toEqual({ state: 'invalid' })
    expect(await read('session', `__Host-session=${altered}`)).toEqual({ state: 'invalid' })
    expect(await read('session', `__Host-session=${value}.${randomToken(32)}`)).toEqual({
      state: 'invalid',
    })
    // The genuine value, read after these, is still taken (and from the isolate's memory).
    for (let i = 0; i < 2; i++)
      expect((await read('session', `__Host-session=${value}`)).state).toBe('valid')
  })

  it('a value signed for one cookie is refused as another of the same shape', async () => {
    const { value: signin } = await set('signin', fieldsOf('signin'))
    const { value: handoff } = await set('handoff', fieldsOf('handoff'))
    expect(await read('handoff', `__Host-handoff=${signin}`)).toEqual({ state: 'invalid' })
    expect(await read('signin', `__Host-signin=${handoff}`)).toEqual({ state: 'invalid' })
  })
})

describe('the origin filter knows every declared cookie', () => {
  it('by name, in any case', () => {
    const names = Object.values(GATEWAY_COOKIES).map((cookie) => cookie.name)
    expect(names.sort()).toEqual([
      '__Host-handoff',
      '__Host-magic-auth',
      '__Host-session',
      '__Host-signin',
    ])
    for (const name of names) {
      expect(isGatewayCookieName(name)).toBe(true)
      expect(isGatewayCookieName(` ${name.toUpperCase()} `)).toBe(true)
    }
    expect(isGatewayCookieName('__Host-origin-own')).toBe(false)
  })
})
