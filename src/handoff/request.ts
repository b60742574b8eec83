import type { AppContext } from '../app-env'
import { normaliseHost } from '../access/paths.ts'
import { requestUrl } from '../context'
import { randomToken, seal, sha256, unseal } from '../crypto'
import { safeReturnTo } from '../redirect'
import { GATEWAY_COOKIES } from '../cookies/declarations'
import { clearGatewayCookie, readGatewayCookie, setGatewayCookie } from '../cookies/gateway-cookie'

// One sign-in for every host (README "One sign-in for every host"). Session cookies stay host-only
// (`__Host-`): a cookie scoped to the parent domain could be read or planted by any sibling host.
// Instead, an app host sends a person to the sign-in host with a sealed handoff request, and gets
// back a one-time code, bound to the app host and to the browser that left (a nonce cookie set on
// the app host before leaving, whose hash the request and the code carry).

const HANDOFF_COOKIE = GATEWAY_COOKIES.handoff
const REQUEST_PURPOSE = 'handoff-request'
// The request lives as long as the browser's nonce cookie.
export const HANDOFF_REQUEST_SECONDS = HANDOFF_COOKIE.maxAgeSeconds

export interface HandoffRequest {
  /** The app host that asked: its host name, lowercased, without a port. */
  host: string
  returnTo: string
  /** SHA-256 of the nonce cookie the app host set in the browser before it left. */
  nonceHash: string
}

/** The sign-in host's origin for this request: same scheme and port. */
export function signInOrigin(c: AppContext, signInHost: string): string {
  const url = requestUrl(c)
  return `${url.protocol}//${signInHost}${url.port ? `:${url.port}` : ''}`
}

/**
 * On an app host: sets the browser's handoff nonce and answers where to send the person, the
 * sign-in host's /auth/login with the app host, the returnTo and the sealed request; or, for a
 * second factor, the sign-in host's /auth/mfa, which continues with the handoff once passed.
 */
export async function leaveForSignIn(
  c: AppContext,
  returnTo: string,
  extra = '',
  page: 'login' | 'mfa' = 'login',
): Promise<string> {
  const config = c.get('config')
  const nonce = randomToken(32)
  // SameSite=None (src/cookies/declarations.ts): it comes back with the sign-in host's form post.
  await setGatewayCookie(c, HANDOFF_COOKIE, { nonce })
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
  c: AppContext,
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
export async function handoffNonceHash(c: AppContext): Promise<string | null> {
  const read = await readGatewayCookie(c, HANDOFF_COOKIE)
  return read.state === 'valid' ? sha256(read.nonce) : null
}

export function clearHandoffNonce(c: AppContext): void {
  clearGatewayCookie(c, HANDOFF_COOKIE)
}
