import type { AppContext } from './app-env'
import { parseIp } from './access/ip.ts'
import { sameSecretNow } from './secret-compare'

/**
 * Whether the request comes from the forward-auth proxy: it sent FORWARD_AUTH_TOKEN as
 * X-Forward-Auth-Token (compared in constant time). Only then is anything it says about the
 * client believed.
 */
export function fromForwardAuthProxy(c: AppContext): boolean {
  const given = c.req.header('x-forward-auth-token')
  const token = c.get('config').forwardAuthToken
  return given !== undefined && token !== undefined && sameSecretNow(given, token)
}

/**
 * The address the forward-auth proxy saw the client connect from, when the request proves it
 * comes from that proxy; otherwise undefined. It is the last X-Forwarded-For entry, the one the
 * proxy writes itself: nginx with the README's `X-Forwarded-For $remote_addr`; Caddy and Traefik
 * replace the header with the address they saw (or append it, behind an upstream they trust).
 * Entries before it may be the client's own. Cloudflare's edge appends the proxy's address
 * (CF-Connecting-IP) after it: on a request that crossed the edge, that entry is passed over. Never X-Real-IP: Caddy (and Traefik,
 * where it trusts forwarded headers) passes a client's copy along untouched. An entry that is not
 * an address names nobody.
 */
export function proxiedClientIp(c: AppContext): string | undefined {
  if (!fromForwardAuthProxy(c)) return undefined
  const entries = (c.req.header('x-forwarded-for') ?? '').split(',').map((entry) => entry.trim())
  // Only where the request crossed Cloudflare's edge (CF-Ray): elsewhere (wrangler dev) an entry
  // equal to the connection's address is the proxy's own record of a client connecting from it,
  // and the entry before it could be the client's.
  // Off Cloudflare (dev mode) any client can send CF-Ray too: never then.
  if (
    entries.length > 1 &&
    !c.get('config').devMode &&
    c.req.header('cf-ray') !== undefined &&
    entries.at(-1) === c.req.header('cf-connecting-ip')?.trim()
  )
    entries.pop()
  const named = entries.at(-1)
  return named && parseIp(named) ? named : undefined
}
