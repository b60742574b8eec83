import { createHash } from 'node:crypto'
import { opaqueToken, workosId } from './ids.ts'

/**
 * A JWT-shaped AuthKit access token; nothing here verifies it, but SDK helpers that decode one
 * can. `claims` adds what WorkOS puts in for an organization sign-in (org_id, role, roles).
 */
export function userAccessToken(
  userId: string,
  now: number,
  claims: Record<string, unknown> = {},
): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const seconds = Math.floor(now / 1000)
  const payload = {
    sub: userId,
    sid: workosId('session'),
    iat: seconds,
    exp: seconds + 300,
    ...claims,
  }
  return `${encode({ alg: 'RS256', typ: 'JWT', kid: 'emulator' })}.${encode(payload)}.${opaqueToken(32)}`
}

// RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
const VERIFIER_SHAPE = /^[A-Za-z0-9._~-]{43,128}$/

/** RFC 7636 §4.6 with S256: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge. */
export function pkceMatches(challenge: string, verifier: string): boolean {
  if (!VERIFIER_SHAPE.test(verifier)) return false
  return createHash('sha256').update(verifier).digest('base64url') === challenge
}
