import type { AppContext } from '../app-env'
import { randomToken } from '../crypto'
import { safeReturnTo } from '../redirect'
import { GATEWAY_COOKIES } from '../cookies/declarations'
import { clearGatewayCookie, readGatewayCookie, setGatewayCookie } from '../cookies/gateway-cookie'

// Between the two Magic Auth steps, the address and the returnTo ride in a short-lived sealed
// value (AES-GCM), not in the URL: a cookie for browsers, and the same sealed token in the JSON
// answer for clients without a cookie jar. Verifying a code needs it, so a code can only be tried
// by the browser or client that asked for it, for the address it asked about: nobody can probe
// arbitrary addresses at the verify step.
const PENDING_CODE_COOKIE = GATEWAY_COOKIES.pendingCode
// The cookie lives as long as a Magic Auth code.
export const PENDING_CODE_SECONDS = PENDING_CODE_COOKIE.maxAgeSeconds

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
  c: AppContext,
  pending: { email: string; returnTo: string },
): Promise<string> {
  const value: PendingCode = {
    id: randomToken(12),
    ...pending,
    issuedAt: Math.floor(Date.now() / 1000),
  }
  return setGatewayCookie(c, PENDING_CODE_COOKIE, JSON.stringify(value))
}

export type PendingRead =
  | { state: 'absent' }
  | { state: 'expired'; pending: PendingCode }
  | { state: 'valid'; pending: PendingCode }

/**
 * The pending code this request carries: the sealed `pending` token from a JSON body when given,
 * else the cookie. Forged, altered or unreadable values count as absent.
 */
export async function readPendingCode(c: AppContext, token?: unknown): Promise<PendingRead> {
  const presented = typeof token === 'string' ? token : undefined
  const read = await readGatewayCookie(c, PENDING_CODE_COOKIE, presented)
  if (read.state !== 'valid' || !read.plaintext) return { state: 'absent' }
  let parsed: Partial<Record<keyof PendingCode, unknown>>
  try {
    parsed = JSON.parse(read.plaintext) as typeof parsed
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

export function forgetPendingCode(c: AppContext): void {
  clearGatewayCookie(c, PENDING_CODE_COOKIE)
}
