import type { Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { randomToken, sha256 } from '../crypto'

// Ties a sign-in link to the browser that asked for it. The browser gets a random nonce in a
// host-only cookie when it asks; the state sent through WorkOS carries the nonce's hash. A callback
// that arrives without the matching cookie (another device, or a link someone planted to sign a
// victim into the attacker's account) is asked to confirm before any session is made.
export const SIGNIN_COOKIE = '__Host-signin'
const NONCE_SHAPE = /^[A-Za-z0-9_-]{43}$/
// As long as a sign-in state is accepted.
const MAX_AGE_SECONDS = 30 * 60

function readNonce(c: Context): string | undefined {
  try {
    const value = getCookie(c, SIGNIN_COOKIE)
    return value && NONCE_SHAPE.test(value) ? value : undefined
  } catch {
    return undefined
  }
}

/** The hash the state should carry for this browser, setting its nonce cookie if it has none. */
export async function bindBrowser(c: Context): Promise<string> {
  const nonce = readNonce(c) ?? randomToken(32)
  setCookie(c, SIGNIN_COOKIE, nonce, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: MAX_AGE_SECONDS,
  })
  return sha256(nonce)
}

/** True when this request comes from the browser whose hash the state carries. */
export async function isSameBrowser(c: Context, browserHash: string): Promise<boolean> {
  const nonce = readNonce(c)
  return nonce !== undefined && (await sha256(nonce)) === browserHash
}
