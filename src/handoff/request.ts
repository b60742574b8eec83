import type { Context } from 'hono'
import { normaliseHost } from '../access/paths.ts'
import { requestUrl } from '../context'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { hmacSign, hmacVerify, randomToken, seal, sha256, unseal } from '../crypto'
import { safeReturnTo } from '../redirect'
import { GATEWAY_COOKIE } from '../gateway-cookies'

// One sign-in for every host (README "One sign-in for every host"). Session cookies stay host-only
// (`__Host-`): a cookie scoped to the parent domain could be read or planted by any sibling host.
// Instead, an app host sends a person to the sign-in host with a sealed handoff request, and gets
// back a one-time code, bound to the app host and to the browser that left (a nonce cookie set on
// the app host before leaving, whose hash the request and the code carry).

export const HANDOFF_COOKIE = GATEWAY_COOKIE.handoff
const NONCE_PURPOSE = 'handoff-nonce'
const REQUEST_PURPOSE = 'handoff-request'
const COOKIE_SHAPE = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/
// Long enough to sign in with a code or a link; the code itself lives 60 s.
export const HANDOFF_REQUEST_SECONDS = 30 * 60

export interface HandoffRequest {
  /** The app host that asked: its host name, lowercased, without a port. */
  host: string
  returnTo: string
  /** SHA-256 of the nonce cookie the app host set in the browser before it left. */
  nonceHash: string
}

/** The sign-in host's origin for this request: same scheme and port. */
export function signInOrigin(c: Context, signInHost: string): string {
  const url = requestUrl(c)
  return `${url.protocol}//${signInHost}${url.port ? `:${url.port}` : ''}`
}

/**
 * On an app host: sets the browser's handoff nonce and answers where to send the person, the
 * sign-in host's /auth/login with the app host, the returnTo and the sealed request; or, for a
 * second factor, the sign-in host's /auth/mfa, which continues with the handoff once passed.
 */
export async function leaveForSignIn(
  c: Context,
  returnTo: string,
  extra = '',
  page: 'login' | 'mfa' = 'login',
): Promise<string> {
  const config = c.get('config')
  const nonce = randomToken(32)
  const signature = await hmacSign(config.sessionSecrets[0]!, NONCE_PURPOSE, nonce)
  // SameSite=None: it must come back with the sign-in host's form post, which is cross-site
  // where the hosts do not share a registrable domain (auth.localhost and app.localhost in dev).
  // It binds a code to this browser; it grants nothing by itself.
  setCookie(c, HANDOFF_COOKIE, `${nonce}.${signature}`, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'None',
    maxAge: HANDOFF_REQUEST_SECONDS,
  })
  // The host name alone: a port in Host is the client's to choose, and the code must only ever
  // be posted to this host on the port people reach the sign-in host by (auth/handoff.ts).
  const host = normaliseHost(requestUrl(c).host)
  const request: HandoffRequest & { issuedAt: number } = {
    host,
    returnTo: safeReturnTo(returnTo),
    nonceHash: await sha256(nonce),
    issuedAt: Math.floor(Date.now() / 1000),
  }
  const sealed = await seal(config.sessionSecrets[0]!, REQUEST_PURPOSE, JSON.stringify(request))
  const signIn = signInOrigin(c, config.signInHost!)
  if (page === 'mfa') {
    const next = `/auth/handoff/start?h=${encodeURIComponent(sealed)}`
    return `${signIn}/auth/mfa?returnTo=${encodeURIComponent(next)}`
  }
  const query = new URLSearchParams({ host, returnTo: request.returnTo, h: sealed })
  return `${signIn}/auth/login?${query}${extra ? `&${extra}` : ''}`
}

/** The sealed handoff request, if genuine, fresh and for a host a session may be handed to. */
export async function readHandoffRequest(
  c: Context,
  sealed: string | undefined,
): Promise<HandoffRequest | null> {
  if (!sealed || sealed.length > 2048) return null
  const config = c.get('config')
  const plaintext = await unseal(config.sessionSecrets, REQUEST_PURPOSE, sealed)
  if (!plaintext) return null
  try {
    const parsed = JSON.parse(plaintext) as Partial<HandoffRequest & { issuedAt: number }>
    const { host, returnTo, nonceHash, issuedAt } = parsed
    if (typeof host !== 'string' || typeof nonceHash !== 'string' || typeof issuedAt !== 'number')
      return null
    const age = Date.now() / 1000 - issuedAt
    if (age > HANDOFF_REQUEST_SECONDS || age < -60) return null
    // Never a host outside the configured ones: no session is handed across to anywhere else.
    if (!config.handoffHosts.has(host)) return null
    return { host, returnTo: safeReturnTo(returnTo), nonceHash }
  } catch {
    return null
  }
}

/** The hash of this browser's handoff nonce on this host, if the gateway minted it. */
export async function handoffNonceHash(c: Context): Promise<string | null> {
  let value: string | undefined
  try {
    value = getCookie(c, HANDOFF_COOKIE)
  } catch {
    return null
  }
  const match = value ? COOKIE_SHAPE.exec(value) : null
  if (!match) return null
  const [, nonce, signature] = match as unknown as [string, string, string]
  const genuine = await hmacVerify(c.get('config').sessionSecrets, NONCE_PURPOSE, nonce, signature)
  return genuine ? sha256(nonce) : null
}

export function clearHandoffNonce(c: Context): void {
  deleteCookie(c, HANDOFF_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'None' })
}
