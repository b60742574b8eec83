import type { AppContext } from '../app-env'
import { randomToken, sha256 } from '../crypto'
import { GATEWAY_COOKIES } from '../cookies/declarations'
import { readGatewayCookie, setGatewayCookie } from '../cookies/gateway-cookie'

// Ties a sign-in link to the browser that asked for it. The browser gets a random nonce in a
// host-only cookie when it asks; the state sent through WorkOS carries the nonce's hash. A callback
// that arrives without the matching cookie (another device, or a link someone planted to sign a
// victim into the attacker's account) is asked to confirm before any session is made.
//
// The nonce is signed: a cookie the gateway did not mint (planted by an origin's Set-Cookie, or
// copied from the attacker's own browser shape) is never trusted, and a fresh one is minted.
const SIGNIN_COOKIE = GATEWAY_COOKIES.signin

async function readNonce(c: AppContext): Promise<string | undefined> {
  const read = await readGatewayCookie(c, SIGNIN_COOKIE)
  return read.state === 'valid' ? read.nonce : undefined
}

/** The hash the state should carry for this browser, setting its nonce cookie if it has none. */
export async function bindBrowser(c: AppContext): Promise<string> {
  const nonce = (await readNonce(c)) ?? randomToken(32)
  await setGatewayCookie(c, SIGNIN_COOKIE, { nonce })
  return sha256(nonce)
}

/** True when this request comes from the browser whose hash the state carries. */
export async function isSameBrowser(c: AppContext, browserHash: string): Promise<boolean> {
  const nonce = await readNonce(c)
  return nonce !== undefined && (await sha256(nonce)) === browserHash
}
