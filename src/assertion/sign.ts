import type { Context } from 'hono'
import { publicOrigin } from '../context'
import { base64url } from '../crypto'
import { assertionKeys } from './keys'

export const ASSERTION_HEADER = 'X-Auth-Assertion'
/** Long enough for one request to reach the origin; short enough that a leaked one is stale. */
export const ASSERTION_TTL_SECONDS = 60

const encoder = new TextEncoder()
const MAX_CACHED_ASSERTIONS = 10_000
const recentAssertions = new Map<string, { token: string; exp: number }>()
const encodeJson = (value: unknown) => base64url(encoder.encode(JSON.stringify(value)))

/** Who a proxied request is for: a signed-in person, or a machine with a service token. */
export type ForwardIdentity =
  | { kind: 'person'; userId: string; email: string; sid: string }
  | { kind: 'service'; id: string; name: string }

/**
 * A compact JWS (ES256) asserting who the request is for: `sub` (the WorkOS id, or the service
 * token's id), `email` and `sid` for a person, `svc` (the token's name) for a machine. Written here rather than with
 * hono/jwt's `sign` because that one imports the key on every call and sets `kid` only from a JWK;
 * this keeps the imported CryptoKey and names the key that signed. Web Crypto's ECDSA signature is
 * already the JWS form (r‖s, 64 bytes).
 */
export async function signAssertion(c: Context, identity: ForwardIdentity): Promise<string> {
  const config = c.get('config')
  const { signing } = await assertionKeys(config)
  const now = Math.floor(Date.now() / 1000)
  // An ECDSA signature per request is most of the gateway's own CPU: reuse a session's assertion
  // while it has at least half its life left.
  const subject =
    identity.kind === 'person'
      ? { sub: identity.userId, email: identity.email, sid: identity.sid }
      : { sub: identity.id, svc: identity.name }
  const cacheKey = [
    signing.kid,
    config.assertionAudience,
    publicOrigin(c),
    identity.kind,
    subject.sub,
    'email' in subject ? `${subject.email}\n${subject.sid}` : subject.svc,
  ].join('\n')
  const cached = recentAssertions.get(cacheKey)
  if (cached && cached.exp - now >= ASSERTION_TTL_SECONDS / 2) return cached.token
  const header = encodeJson({ alg: 'ES256', typ: 'JWT', kid: signing.kid })
  const payload = encodeJson({
    iss: publicOrigin(c),
    aud: config.assertionAudience,
    ...subject,
    iat: now,
    nbf: now - 5,
    exp: now + ASSERTION_TTL_SECONDS,
  })
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    signing.privateKey,
    encoder.encode(`${header}.${payload}`),
  )
  const token = `${header}.${payload}.${base64url(signature)}`
  if (recentAssertions.size >= MAX_CACHED_ASSERTIONS) recentAssertions.clear()
  recentAssertions.set(cacheKey, { token, exp: now + ASSERTION_TTL_SECONDS })
  return token
}

/** GET /.well-known/jwks.json — every published public key. */
export async function serveJwks(c: Context) {
  const { published } = await assertionKeys(c.get('config'))
  c.header('Cache-Control', 'public, max-age=300')
  return c.json({ keys: published })
}
