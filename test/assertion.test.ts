import { env } from 'cloudflare:workers'
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
} from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { gateway, gatewayWith, newAssertionKey, signIn } from './helpers'

// The assertion is verified here with jose, an independent JOSE implementation, against the JWKS
// the gateway serves, exactly as an origin would.

const ORIGIN = new URL((env as unknown as Record<string, string>).ORIGIN_URL!).origin
const ISSUER = 'https://gateway.test'

let cookie: string
let email: string

beforeAll(async () => {
  ;({ cookie, email } = await signIn())
})

async function jwks(settings?: Record<string, unknown>): Promise<JSONWebKeySet> {
  const response = settings
    ? await gatewayWith(settings, '/.well-known/jwks.json')
    : await gateway('/.well-known/jwks.json')
  expect(response.status).toBe(200)
  return (await response.json()) as JSONWebKeySet
}

async function assertionFor(settings?: Record<string, unknown>): Promise<string> {
  const response = settings
    ? await gatewayWith(settings, '/whoami', { headers: { cookie } })
    : await gateway('/whoami', { headers: { cookie } })
  expect(response.headers.get('x-auth-assertion')).toBeNull() // never back to the browser
  const seen = (await response.json()) as { headers: Record<string, string> }
  return seen.headers['x-auth-assertion']!
}

describe('X-Auth-Assertion', () => {
  it('verifies against the served JWKS with the documented claims', async () => {
    const token = await assertionFor()
    const keys = await jwks()
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys), {
      issuer: ISSUER,
      audience: ORIGIN,
      algorithms: ['ES256'],
    })
    expect(protectedHeader.alg).toBe('ES256')
    expect(keys.keys.map((k) => k.kid)).toContain(protectedHeader.kid)
    expect(payload.email).toBe(email)
    expect(payload.sub).toMatch(/^prof_/)
    expect(typeof payload.sid).toBe('string')
    expect(payload.exp! - payload.iat!).toBe(60)
    // Reused while it has half its life left, so at most 30 s old.
    expect(Date.now() / 1000 - payload.iat!).toBeLessThanOrEqual(31)
  })

  it('is reused for a session while it has half its life left (one signature per 30 s)', async () => {
    const first = await assertionFor()
    const second = await assertionFor()
    expect(second).toBe(first)
    const otherAudience = await assertionFor({ ASSERTION_AUDIENCE: 'urn:another' })
    expect(otherAudience).not.toBe(first)
  })

  it('publishes public keys only', async () => {
    for (const key of (await jwks()).keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
      expect(key).not.toHaveProperty('d')
    }
  })

  it('is refused when tampered with', async () => {
    const token = await assertionFor()
    const [header, payload, signature] = token.split('.')
    const claims = JSON.parse(atob(payload!.replace(/-/g, '+').replace(/_/g, '/')))
    const forgedPayload = btoa(JSON.stringify({ ...claims, email: 'admin@example.com' }))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
    const flipped =
      signature!.slice(0, 10) + (signature![10] === 'A' ? 'B' : 'A') + signature!.slice(11)
    const set = createLocalJWKSet(await jwks())
    for (const bad of [
      `${header}.${forgedPayload}.${signature}`,
      `${header}.${payload}.${flipped}`,
    ]) {
      await expect(jwtVerify(bad, set, { issuer: ISSUER, audience: ORIGIN })).rejects.toThrow()
    }
  })

  it('is refused once expired, and by another audience', async () => {
    const token = await assertionFor()
    const set = createLocalJWKSet(await jwks())
    await expect(
      jwtVerify(token, set, {
        issuer: ISSUER,
        audience: ORIGIN,
        currentDate: new Date(Date.now() + 120_000),
      }),
    ).rejects.toThrow(/exp/)
    await expect(
      jwtVerify(token, set, { issuer: ISSUER, audience: 'https://other.example' }),
    ).rejects.toThrow(/aud/)
  })

  it('cannot be forged with alg "none" or by key confusion (HS256 keyed with the public key)', async () => {
    const token = await assertionFor()
    const [, payload] = token.split('.')
    const keys = await jwks()
    const set = createLocalJWKSet(keys)
    const none = `${btoa(JSON.stringify({ alg: 'none', typ: 'JWT' })).replace(/=+$/, '')}.${payload}.`
    await expect(jwtVerify(none, set, { issuer: ISSUER, audience: ORIGIN })).rejects.toThrow()
    const kid = decodeProtectedHeader(token).kid
    const confused = await new SignJWT({ email: 'admin@example.com' })
      .setProtectedHeader({ alg: 'HS256', kid })
      .setIssuer(ISSUER)
      .setAudience(ORIGIN)
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(JSON.stringify(keys.keys[0])))
    await expect(jwtVerify(confused, set, { issuer: ISSUER, audience: ORIGIN })).rejects.toThrow()
  })

  it('uses ASSERTION_AUDIENCE when set', async () => {
    const token = await assertionFor({ ASSERTION_AUDIENCE: 'urn:my-api' })
    const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks()), {
      audience: 'urn:my-api',
    })
    expect(payload.aud).toBe('urn:my-api')
  })

  it('rotates: every configured key is published, the first signs, older tokens still verify', async () => {
    const [oldKey, newKey] = [await newAssertionKey('old'), await newAssertionKey('new')]
    const before = { ASSERTION_KEYS: JSON.stringify([oldKey, newKey]) }
    const during = { ASSERTION_KEYS: JSON.stringify([newKey, oldKey]) }
    expect((await jwks(before)).keys.map((k) => k.kid)).toEqual(['old', 'new'])
    const signedByOld = await assertionFor(before)
    expect(decodeProtectedHeader(signedByOld).kid).toBe('old')
    const signedByNew = await assertionFor(during)
    expect(decodeProtectedHeader(signedByNew).kid).toBe('new')
    const set = createLocalJWKSet(await jwks(during))
    await jwtVerify(signedByOld, set, { audience: ORIGIN })
    await jwtVerify(signedByNew, set, { audience: ORIGIN })
    // A key no longer configured no longer verifies.
    const after = createLocalJWKSet(await jwks({ ASSERTION_KEYS: JSON.stringify([newKey]) }))
    await expect(jwtVerify(signedByOld, after, { audience: ORIGIN })).rejects.toThrow()
  })

  it('is signed with the configured private key (verifiable with its public half)', async () => {
    const key = await newAssertionKey('direct')
    const token = await assertionFor({ ASSERTION_KEYS: JSON.stringify([key]) })
    const { d: _d, key_ops: _ops, ...publicJwk } = key
    await jwtVerify(token, await importJWK({ ...publicJwk, alg: 'ES256' }, 'ES256'), {
      audience: ORIGIN,
    })
  })

  it('is not added for public paths or unauthenticated requests', async () => {
    const response = await gatewayWith({ PUBLIC_PATHS: '/open' }, '/open', {
      headers: { 'x-auth-assertion': 'forged.by.client' },
    })
    const seen = (await response.json()) as { headers: Record<string, string> }
    expect(seen.headers['x-auth-assertion']).toBeUndefined()
  })
})
