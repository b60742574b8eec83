import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { hmacSign, hmacVerify } from '../crypto'

// __Host- pins the cookie to this exact host, Path=/ and Secure: no subdomain can set or toss it.
export const SESSION_COOKIE = '__Host-session'
const PURPOSE = 'session-cookie'
// 32 random bytes in base64url is 43 characters; an HMAC-SHA256 in base64url is 43 too.
const COOKIE_SHAPE = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/

export type CookieCheck =
  { state: 'absent' } | { state: 'invalid' } | { state: 'valid'; sessionId: string }

/** Signature check only, no I/O: a forged or damaged cookie never costs a KV read. */
export async function verifySessionCookie(
  c: Context,
  secrets: readonly string[],
): Promise<CookieCheck> {
  const value = readSessionCookie(c)
  if (value === undefined) return { state: 'absent' }
  const match = COOKIE_SHAPE.exec(value)
  if (!match) return { state: 'invalid' }
  const [, sessionId, signature] = match as unknown as [string, string, string]
  const valid = await hmacVerify(secrets, PURPOSE, sessionId, signature)
  return valid ? { state: 'valid', sessionId } : { state: 'invalid' }
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
  maxAgeSeconds: number,
): Promise<void> {
  const signature = await hmacSign(secrets[0]!, PURPOSE, sessionId)
  setCookie(c, SESSION_COOKIE, `${sessionId}.${signature}`, {
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
