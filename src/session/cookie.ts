import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { hmacSign, hmacVerify } from '../crypto'

// __Host- pins the cookie to this exact host, Path=/ and Secure: no subdomain can set or toss it.
export const SESSION_COOKIE = '__Host-session'
const PURPOSE = 'session-cookie'
// <session id>.<person key>.<signature>: 32 random bytes, a SHA-256 and an HMAC-SHA256, each 43
// characters of base64url. The person key (the hash the person's sessions are indexed under)
// lets one KV round trip read the session together with the person's revocation time.
const COOKIE_SHAPE = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/

export type CookieCheck =
  | { state: 'absent' }
  | { state: 'invalid' }
  | { state: 'valid'; sessionId: string; personKey: string }

/** Signature check only, no I/O: a forged or damaged cookie never costs a KV read. */
export async function verifySessionCookie(
  c: Context,
  secrets: readonly string[],
): Promise<CookieCheck> {
  const value = readSessionCookie(c)
  if (value === undefined) return { state: 'absent' }
  const match = COOKIE_SHAPE.exec(value)
  if (!match) return { state: 'invalid' }
  const [, sessionId, personKey, signature] = match as unknown as [string, string, string, string]
  const valid = await hmacVerify(secrets, PURPOSE, `${sessionId}.${personKey}`, signature)
  return valid ? { state: 'valid', sessionId, personKey } : { state: 'invalid' }
}

function readSessionCookie(c: Context): string | undefined {
  try {
    return getCookie(c, SESSION_COOKIE)
  } catch {
    // A malformed percent-escape in the Cookie header: treat as a cookie that does not verify.
    return '!'
  }
}

export async function setSessionCookie(
  c: Context,
  secrets: readonly string[],
  sessionId: string,
  personKey: string,
  maxAgeSeconds: number,
): Promise<void> {
  const value = `${sessionId}.${personKey}`
  const signature = await hmacSign(secrets[0]!, PURPOSE, value)
  setCookie(c, SESSION_COOKIE, `${value}.${signature}`, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: maxAgeSeconds,
  })
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' })
}
