import type { Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { hmacSign, hmacVerify, randomToken, sha256 } from '../crypto'
import { GATEWAY_COOKIE } from '../gateway-cookies'

// Ties a sign-in link to the browser that asked for it. The browser gets a random nonce in a
// host-only cookie when it asks; the state sent through WorkOS carries the nonce's hash. A callback
// that arrives without the matching cookie (another device, or a link someone planted to sign a
// victim into the attacker's account) is asked to confirm before any session is made.
//
// The nonce is signed: a cookie the gateway did not mint (planted by an origin's Set-Cookie, or
// copied from the attacker's own browser shape) is never trusted, and a fresh one is minted.
export const SIGNIN_COOKIE = GATEWAY_COOKIE.signin
const PURPOSE = 'signin-nonce'
const COOKIE_SHAPE = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/
// As long as a sign-in state is accepted.
const MAX_AGE_SECONDS = 30 * 60

async function readNonce(c: Context): Promise<string | undefined> {
  let value: string | undefined
  try {
    value = getCookie(c, SIGNIN_COOKIE)
  } catch {
    return undefined
  }
  const match = value ? COOKIE_SHAPE.exec(value) : null
  if (!match) return undefined
  const [, nonce, signature] = match as unknown as [string, string, string]
  const genuine = await hmacVerify(c.get('config').sessionSecrets, PURPOSE, nonce, signature)
  return genuine ? nonce : undefined
}

/** The hash the state should carry for this browser, setting its nonce cookie if it has none. */
export async function bindBrowser(c: Context): Promise<string> {
  const nonce = (await readNonce(c)) ?? randomToken(32)
  const signature = await hmacSign(c.get('config').sessionSecrets[0]!, PURPOSE, nonce)
  setCookie(c, SIGNIN_COOKIE, `${nonce}.${signature}`, {
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
  const nonce = await readNonce(c)
  return nonce !== undefined && (await sha256(nonce)) === browserHash
}
