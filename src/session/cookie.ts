import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { hmacSign, hmacVerify } from '../crypto'
import { GATEWAY_COOKIE } from '../gateway-cookies'

// __Host- pins the cookie to this exact host, Path=/ and Secure: no subdomain can set or toss it.
export const SESSION_COOKIE = GATEWAY_COOKIE.session
const PURPOSE = 'session-cookie'
// <session id>.<person key>.<signature>: 32 random bytes, a SHA-256 and an HMAC-SHA256, each 43
// characters of base64url. The person key (the hash the person's sessions are indexed under)
// lets one KV round trip read the session together with the person's revocation time.
const COOKIE_SHAPE = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/

export type CookieCheck =
  | { state: 'absent' }
  | { state: 'invalid' }
  | { state: 'valid'; sessionId: string; personKey: string }

// Cookies this isolate has already verified, per set of secrets: a browser sends the same cookie
// with every request, and the HMAC check (a Web Crypto call and its promise) is most of what a
// repeat request would otherwise spend here. Only genuine cookies are kept, and a changed
// SESSION_SECRET (a new config, a new secrets array) starts afresh.
const MAX_VERIFIED = 10_000
const verified = new WeakMap<readonly string[], Map<string, CookieCheck & { state: 'valid' }>>()

/** Signature check only, no I/O: a forged or damaged cookie never costs a KV read. */
export async function verifySessionCookie(
  c: Context,
  secrets: readonly string[],
): Promise<CookieCheck> {
  const value = readSessionCookie(c)
  if (value === undefined) return { state: 'absent' }
  let known = verified.get(secrets)
  const remembered = known?.get(value)
  if (remembered) return remembered
  const match = COOKIE_SHAPE.exec(value)
  if (!match) return { state: 'invalid' }
  const [, sessionId, personKey, signature] = match as unknown as [string, string, string, string]
  const valid = await hmacVerify(secrets, PURPOSE, `${sessionId}.${personKey}`, signature)
  if (!valid) return { state: 'invalid' }
  const check = { state: 'valid' as const, sessionId, personKey }
  if (!known) verified.set(secrets, (known = new Map()))
  if (known.size >= MAX_VERIFIED) known.clear()
  known.set(value, check)
  return check
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
