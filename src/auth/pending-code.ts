import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { seal, unseal } from '../crypto'
import { safeReturnTo } from '../redirect'

// Between the two Magic Auth steps, the address and the returnTo ride in a short-lived sealed
// cookie (AES-GCM), not in the URL: the code page needs no query string to remember them.
export const PENDING_CODE_COOKIE = '__Host-magic-auth'
const COOKIE = PENDING_CODE_COOKIE
const PURPOSE = 'magic-auth-pending'
// A Magic Auth code lives 10 minutes.
const MAX_AGE_SECONDS = 600

export interface PendingCode {
  email: string
  returnTo: string
}

export async function rememberPendingCode(c: Context, pending: PendingCode): Promise<void> {
  const secrets = c.get('config').sessionSecrets
  const value = await seal(
    secrets[0]!,
    PURPOSE,
    JSON.stringify({ ...pending, issuedAt: Math.floor(Date.now() / 1000) }),
  )
  setCookie(c, COOKIE, value, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: MAX_AGE_SECONDS,
  })
}

export async function readPendingCode(c: Context): Promise<PendingCode | null> {
  let value: string | undefined
  try {
    value = getCookie(c, COOKIE)
  } catch {
    return null
  }
  if (!value || value.length > 2048) return null
  const plaintext = await unseal(c.get('config').sessionSecrets, PURPOSE, value)
  if (!plaintext) return null
  try {
    const parsed = JSON.parse(plaintext) as {
      email?: unknown
      returnTo?: unknown
      issuedAt?: unknown
    }
    if (typeof parsed.email !== 'string' || typeof parsed.issuedAt !== 'number') return null
    if (Date.now() / 1000 - parsed.issuedAt > MAX_AGE_SECONDS) return null
    return { email: parsed.email, returnTo: safeReturnTo(parsed.returnTo) }
  } catch {
    return null
  }
}

export function forgetPendingCode(c: Context): void {
  deleteCookie(c, COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' })
}
