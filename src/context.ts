import type { AppContext } from './app-env'
import { GatewayError } from './errors'
import { hostMatches, normaliseHost } from './access/paths.ts'
import { proxiedClientIp } from './forward-auth-proxy'

/** The request's URL, parsed once per request (the hot path asks for it several times). */
export function requestUrl(c: AppContext): URL {
  let url = c.get('url')
  if (!url) {
    url = new URL(c.req.url)
    c.set('url', url)
  }
  return url
}

/**
 * The gateway's own public origin: PUBLIC_URL (required outside dev mode); in dev mode without
 * it, the origin the request came to (localhost, whatever port wrangler dev was given).
 */
export function publicOrigin(c: AppContext): string {
  return c.get('config').publicUrl ?? requestUrl(c).origin
}

/**
 * True when a form came from the very host it posts to, and the gateway serves that host: PUBLIC_URL's,
 * or a host it is configured for (ALLOWED_HOSTS, SIGN_IN_HOST, a host an ACCESS route names). The
 * gateway's forms (sign out, "use another account") post to the host they are on. Another host's
 * origin, the sign-in host's included, is never trusted here: whatever that host serves could post
 * as the person. The one cross-host form, the handoff, checks its own origin (auth/handoff.ts).
 */
export function isGatewayOrigin(c: AppContext, origin: string): boolean {
  const url = requestUrl(c)
  if (origin !== url.origin) return false
  if (origin === publicOrigin(c)) return true
  const config = c.get('config')
  const host = normaliseHost(url.host)
  return (
    config.handoffHosts.has(host) ||
    (config.access?.routes.some(
      (route) => route.host.kind !== 'any' && hostMatches(route.host, host),
    ) ??
      false)
  )
}

/**
 * Refuses a request that reached the gateway under another host than PUBLIC_URL's, before it can
 * send an email: links always point at PUBLIC_URL, and a request for another host is misdirected.
 */
export function requireGatewayHost(c: AppContext): void {
  const publicUrl = c.get('config').publicUrl
  if (publicUrl && requestUrl(c).host !== new URL(publicUrl).host)
    throw new GatewayError(
      421,
      'wrong_host',
      `Sign in at ${publicUrl}: this address does not serve the sign-in pages.`,
    )
}

/**
 * The client's address. Cloudflare's edge (and wrangler dev) set CF-Connecting-IP; X-Forwarded-For
 * from a client is never believed. Behind the forward-auth proxy every request connects from the
 * proxy's address: a request that proves it comes from that proxy (FORWARD_AUTH_TOKEN) is the
 * client the proxy names (proxiedClientIp), so per-client limits do not lump its clients together.
 * Absent (unit tests), 0.0.0.0.
 */
export function clientIp(c: AppContext): string {
  let ip = c.get('clientIp')
  if (ip === undefined) {
    ip = proxiedClientIp(c) ?? (c.req.header('cf-connecting-ip')?.trim() || '0.0.0.0')
    c.set('clientIp', ip)
  }
  return ip
}
