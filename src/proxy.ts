import type { Context } from 'hono'
import { proxy } from 'hono/proxy'
import type { Target } from './access/index.ts'
import { ASSERTION_HEADER, signAssertion, type ForwardIdentity } from './assertion/sign'
import { clientIp, requestUrl } from './context'
import { GatewayError } from './errors'
import { log } from './log'
import { dropGatewaySetCookies, withoutGatewayCookies } from './gateway-cookies'

// Hop-by-hop headers (RFC 9110 §7.6.1, and hono/proxy's list), plus whatever the Connection
// header names: they describe one connection and must not be forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])
// Headers only the gateway may set, or that must not reach the origin at all. Matched after
// folding case and "_" to "-", because many origins (CGI, Rack, Django, nginx's
// underscores_in_headers) read X_Auth_User as X-Auth-User.
// - identity and forwarding: X-Auth-*, X-Forwarded-*, Forwarded, X-Real-IP, X-Request-ID;
// - the service token's credentials (Gateway-Client-Id, Gateway-Client-Secret);
// - method overrides (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override), which would let a
//   POST act as a DELETE past a method rule;
// - path overrides (X-Original-URL, X-Rewrite-URL), which IIS, Symfony and others route on: a
//   request for a public path could otherwise be served as another path.
const GATEWAY_OWNED_PREFIXES = ['x-auth-', 'x-forwarded-', 'gateway-client-']
const GATEWAY_OWNED_NAMES = new Set([
  'forwarded',
  'x-real-ip',
  'x-request-id',
  'x-http-method',
  'x-http-method-override',
  'x-method-override',
  'x-original-url',
  'x-rewrite-url',
])
// Checked for every header of every proxied request: a Set and three prefixes, no regex.
const isGatewayOwned = (folded: string) =>
  GATEWAY_OWNED_NAMES.has(folded) ||
  GATEWAY_OWNED_PREFIXES.some((prefix) => folded.startsWith(prefix))

// Header names arrive lowercased from workerd; only "_" needs folding.
const foldName = (name: string) =>
  name.includes('_') ? name.toLowerCase().replace(/_/g, '-') : name

/** The origin URL for this request: the origin's base joined with the path as sent, never re-resolved. */
export function originTarget(originBase: string, requestUrl: URL): string {
  // String joining, not `new URL(path, base)`: a path like //evil.example would otherwise
  // be read as a protocol-relative URL and leave the origin.
  return `${originBase.replace(/\/+$/, '')}${requestUrl.pathname}${requestUrl.search}`
}

/** Where this request goes: ORIGIN_URL, a route's own origin, or a service binding. */
export function destination(c: Context, target: Target, url: URL) {
  if (target.kind === 'service') {
    const binding = (c.env as Record<string, Fetcher>)[target.binding]!
    // The bound Worker sees the request's own URL; nothing leaves Cloudflare's network.
    return {
      url: originTarget(url.origin, url),
      fetch: (request: Request) => binding.fetch(request),
    }
  }
  const base =
    target.kind === 'origin'
      ? `${target.origin}${target.pathPrefix}`
      : `${c.get('config').originUrl.origin}${c.get('config').originUrl.pathname}`
  return { url: originTarget(base, url), fetch: undefined }
}

export const DEFAULT_TARGET: Target = { kind: 'default' }

export async function forwardedHeaders(
  c: Context,
  identity: ForwardIdentity | null,
  routeName?: string,
): Promise<Headers> {
  const incoming = c.req.raw.headers
  const headers = new Headers()
  const nominated = new Set(
    (incoming.get('connection') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  )
  for (const [name, value] of incoming) {
    const folded = foldName(name)
    if (HOP_BY_HOP.has(name) || nominated.has(name) || name === 'host' || name === 'cookie')
      continue
    if (isGatewayOwned(folded)) continue
    headers.append(name, value)
  }
  const cookie = withoutGatewayCookies(incoming.get('cookie'))
  if (cookie) headers.set('cookie', cookie)

  const url = requestUrl(c)
  headers.set('x-forwarded-host', url.host)
  headers.set('x-forwarded-proto', url.protocol.slice(0, -1))
  headers.set('x-forwarded-for', clientIp(c))
  const requestId = c.get('requestId')
  if (requestId) headers.set('x-request-id', requestId)
  if (routeName) headers.set('x-auth-route', routeName)
  if (identity?.kind === 'person') {
    headers.set('x-auth-user', identity.userId)
    headers.set('x-auth-email', identity.email)
    if (identity.organizationId) headers.set('x-auth-organization', identity.organizationId)
  } else if (identity?.kind === 'service') {
    headers.set('x-auth-user', identity.id)
    headers.set('x-auth-service-token', identity.name)
  }
  if (identity) headers.set(ASSERTION_HEADER, await signAssertion(c, identity))
  return headers
}

/**
 * Forwards the request to its destination and streams the answer back unchanged: body streamed
 * both ways, the origin's redirects handed to the browser rather than followed.
 */
export async function forwardToOrigin(
  c: Context,
  identity: ForwardIdentity | null,
  route?: { name: string; target: Target },
): Promise<Response> {
  const { url, fetch } = destination(c, route?.target ?? DEFAULT_TARGET, requestUrl(c))
  const headers = await forwardedHeaders(c, identity, route?.name)
  try {
    // no-store: an answer personalised from X-Auth-User must never be cached by URL and served
    // to someone else.
    // The request's parts are handed over one by one rather than as `raw`: given `raw`, hono/proxy
    // first copies all its headers, which `headers` (built above) then replaces anyway.
    const raw = c.req.raw
    const response = await proxy(url, {
      method: raw.method,
      headers,
      ...(raw.body && { body: raw.body, duplex: 'half' }),
      signal: raw.signal,
      redirect: 'manual',
      cache: 'no-store',
      ...(fetch && { customFetch: fetch }),
    })
    // The origin's own headers stay as they are, except that it cannot set or clear the
    // gateway's cookies; the request id is added so a person reporting a problem can quote it.
    const dropped = dropGatewaySetCookies(response.headers)
    log({
      event: identity ? 'proxied' : 'proxied_public',
      originStatus: response.status,
      ...(dropped > 0 && { droppedGatewayCookies: dropped }),
    })
    const requestId = c.get('requestId')
    if (requestId && !response.headers.has('x-request-id'))
      response.headers.set('x-request-id', requestId)
    return response
  } catch {
    log({ event: 'origin_unreachable' })
    throw new GatewayError(
      502,
      'origin_unavailable',
      'The site is not answering. Please try again.',
    )
  }
}
