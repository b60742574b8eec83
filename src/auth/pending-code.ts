import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { randomToken, seal, unseal } from '../crypto'
import { safeReturnTo } from '../redirect'
import { GATEWAY_COOKIE } from '../gateway-cookies'

// Between the two Magic Auth steps, the address and the returnTo ride in a short-lived sealed
// value (AES-GCM), not in the URL: a cookie for browsers, and the same sealed token in the JSON
// answer for clients without a cookie jar. Verifying a code needs it, so a code can only be tried
// by the browser or client that asked for it, for the address it asked about: nobody can probe
// arbitrary addresses at the verify step.
export const PENDING_CODE_COOKIE = GATEWAY_COOKIE.pendingCode
const COOKIE = PENDING_CODE_COOKIE
const PURPOSE = 'magic-auth-pending'
// A Magic Auth code lives 10 minutes.
export const PENDING_CODE_SECONDS = 600
const MAX_SEALED_LENGTH = 2048

export interface PendingCode {
  /** Random, per send: wrong guesses are counted against it (src/abuse/guess-limit.ts). */
  id: string
  email: string
  returnTo: string
  /** Epoch seconds. */
  issuedAt: number
}

/** Seals a new pending code, sets its cookie, and returns the sealed token for JSON clients. */
export async function rememberPendingCode(
  c: Context,
  pending: { email: string; returnTo: string },
): Promise<string> {
  const secrets = c.get('config').sessionSecrets
  const value: PendingCode = {
    id: randomToken(12),
    ...pending,
    issuedAt: Math.floor(Date.now() / 1000),
  }
  const sealed = await seal(secrets[0]!, PURPOSE, JSON.stringify(value))
  setCookie(c, COOKIE, sealed, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: PENDING_CODE_SECONDS,
  })
  return sealed
}

export type PendingRead =
  | { state: 'absent' }
  | { state: 'expired'; pending: PendingCode }
  | { state: 'valid'; pending: PendingCode }

/**
 * The pending code this request carries: the sealed `pending` token from a JSON body when given,
 * else the cookie. Forged, altered or unreadable values count as absent.
 */
export async function readPendingCode(c: Context, token?: unknown): Promise<PendingRead> {
  let value: string | undefined = typeof token === 'string' ? token : undefined
  if (value === undefined) {
    try {
      value = getCookie(c, COOKIE)
    } catch {
      return { state: 'absent' }
    }
  }
  if (!value || value.length > MAX_SEALED_LENGTH) return { state: 'absent' }
  const plaintext = await unseal(c.get('config').sessionSecrets, PURPOSE, value)
  if (!plaintext) return { state: 'absent' }
  let parsed: Partial<Record<keyof PendingCode, unknown>>
  try {
    parsed = JSON.parse(plaintext) as typeof parsed
  } catch {
    return { state: 'absent' }
  }
  const { id, email, issuedAt } = parsed
  if (typeof id !== 'string' || typeof email !== 'string' || typeof issuedAt !== 'number')
    return { state: 'absent' }
  const pending = { id, email, returnTo: safeReturnTo(parsed.returnTo), issuedAt }
  const age = Date.now() / 1000 - issuedAt
  return age > PENDING_CODE_SECONDS || age < -60
    ? { state: 'expired', pending }
    : { state: 'valid', pending }
}

export function forgetPendingCode(c: Context): void {
  deleteCookie(c, COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' })
}
