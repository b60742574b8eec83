import type { AppContext } from '../app-env'
import { BoundedMap } from '../bounded-cache'
import { publicOrigin } from '../context'
import { base64url } from '../crypto'
import { assertionKeys } from './keys'

export const ASSERTION_HEADER = 'X-Auth-Assertion'
/** Long enough for one request to reach the origin; short enough that a leaked one is stale. */
export const ASSERTION_TTL_SECONDS = 60

const encoder = new TextEncoder()
// Audiences remembered per identity object: a few routes, or a host-less route's hosts.
const MAX_AUDIENCES_PER_IDENTITY = 32
// An assertion made, with everything besides the subject and the audience that its claims
// depend on.
interface Made {
  token: string
  exp: number
  kid: string
  iss: string
}
const recentAssertions = new BoundedMap<string, Made>(10_000)
// The last assertion made for an identity object (see personOf), per audience: one route's
// assertion is never another's.
const lastForIdentity = new WeakMap<ForwardIdentity, BoundedMap<string, Made>>()
const encodeJson = (value: unknown) => base64url(encoder.encode(JSON.stringify(value)))

/** Who a proxied request is for: a signed-in person, or a machine with a service token. */
export type ForwardIdentity =
  | {
      kind: 'person'
      userId: string
      email: string
      sid: string
      /** Epoch ms of the sign-in. */
      authTime: number
      amr: readonly string[]
      organizationId?: string | undefined
      roles?: readonly string[] | undefined
      groups?: readonly string[] | undefined
      /** An OAuth client acting as the person (a bearer token): its client id. */
      clientId?: string | undefined
    }
  | { kind: 'service'; id: string; name: string }

/**
 * A compact JWS (ES256) asserting who the request is for: `sub` (the WorkOS id, or the service
 * token's id); for a person `email`, `sid`, `auth_time`, `amr` (`otp`, `email` or `sso`, plus
 * `mfa`) and for SSO `org_id`, `roles`, `groups`; for a machine `svc` (the token's name). Written here rather than with
 * hono/jwt's `sign` because that one imports the key on every call and sets `kid` only from a JWK;
 * this keeps the imported CryptoKey and names the key that signed. Web Crypto's ECDSA signature is
 * already the JWS form (r‖s, 64 bytes).
 *
 * `audience` is the `aud`: the route's (routeAudience) with ACCESS, else ASSERTION_AUDIENCE.
 */
export async function signAssertion(
  c: AppContext,
  identity: ForwardIdentity,
  audience: string,
): Promise<string> {
  const config = c.get('config')
  const { signing } = await assertionKeys(config)
  const now = Math.floor(Date.now() / 1000)
  const issuer = publicOrigin(c)
  // A cached session's requests share one identity object (personOf): its last assertion for
  // this audience is found without building the claims and their key again.
  let lastByAudience = lastForIdentity.get(identity)
  const last = lastByAudience?.get(audience)
  if (
    last &&
    last.kid === signing.kid &&
    last.iss === issuer &&
    last.exp - now >= ASSERTION_TTL_SECONDS / 2
  )
    return last.token
  // An ECDSA signature per request is most of the gateway's own CPU: reuse a session's assertion
  // while it has at least half its life left.
  const subject =
    identity.kind === 'person'
      ? {
          sub: identity.userId,
          email: identity.email,
          sid: identity.sid,
          auth_time: Math.floor(identity.authTime / 1000),
          amr: identity.amr,
          ...(identity.organizationId !== undefined && { org_id: identity.organizationId }),
          ...(identity.roles !== undefined && { roles: identity.roles }),
          ...(identity.groups !== undefined && { groups: identity.groups }),
          ...(identity.clientId !== undefined && { client_id: identity.clientId }),
        }
      : { sub: identity.id, svc: identity.name }
  // Everything the claims say is in the key, so a changed session (a second factor passed, new
  // roles) never reuses an assertion made before the change.
  const cacheKey = [signing.kid, audience, issuer, identity.kind, JSON.stringify(subject)].join(
    '\n',
  )
  if (!lastByAudience) {
    lastByAudience = new BoundedMap(MAX_AUDIENCES_PER_IDENTITY)
    lastForIdentity.set(identity, lastByAudience)
  }
  const cached = recentAssertions.get(cacheKey)
  if (cached && cached.exp - now >= ASSERTION_TTL_SECONDS / 2) {
    lastByAudience.set(audience, cached)
    return cached.token
  }
  const header = encodeJson({ alg: 'ES256', typ: 'JWT', kid: signing.kid })
  const payload = encodeJson({
    iss: issuer,
    aud: audience,
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
  const made: Made = {
    token,
    exp: now + ASSERTION_TTL_SECONDS,
    kid: signing.kid,
    iss: issuer,
  }
  recentAssertions.set(cacheKey, made)
  lastByAudience.set(audience, made)
  return token
}

/** GET /.well-known/jwks.json — every published public key. */
export async function serveJwks(c: AppContext) {
  const { published } = await assertionKeys(c.get('config'))
  c.header('Cache-Control', 'public, max-age=300')
  return c.json({ keys: published })
}
