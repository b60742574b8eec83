import type { AppContext } from './app-env'
import type { Target } from './access/index.ts'
import type { ForwardIdentity } from './assertion/sign'
import type { Config } from './config'
import { clientIp, requestUrl } from './context'
import { GatewayError } from './errors'
import { log } from './log'
import { dropGatewaySetCookies, withoutGatewayCookies } from './cookies/origin-filter'
import { setIdentityHeaders, type ProxiedRoute } from './identity-headers'
import { isGatewayBearer } from './oauth/tokens'
import { guardServiceWorkerAnswer, refuseServiceWorkerFolder } from './service-worker-scope'

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
  // The forward-auth proxy's proof (FORWARD_AUTH_TOKEN): an origin that saw it could pose as the
  // proxy at /auth/verify and name any client address.
  'x-forward-auth-token',
])
// Checked for every header of every proxied request: a Set and three prefixes, no regex, and
// nothing at all for a name that starts with none of their letters (most of a browser's).
const OWNED_FIRST_LETTERS = new Set(
  [...GATEWAY_OWNED_NAMES, ...GATEWAY_OWNED_PREFIXES].map((name) => name.charCodeAt(0)),
)
function isGatewayOwned(folded: string): boolean {
  if (!OWNED_FIRST_LETTERS.has(folded.charCodeAt(0))) return false
  if (GATEWAY_OWNED_NAMES.has(folded)) return true
  for (const prefix of GATEWAY_OWNED_PREFIXES) if (folded.startsWith(prefix)) return true
  return false
}

// Header names arrive lowercased from workerd; only "_" needs folding.
const foldName = (name: string) =>
  name.includes('_') ? name.toLowerCase().replace(/_/g, '-') : name

/** The header names a Connection header nominates as hop-by-hop, lowercased. */
function connectionNominated(connection: string): Set<string> {
  const names = new Set<string>()
  for (const name of connection.split(',')) {
    const trimmed = name.trim().toLowerCase()
    if (trimmed) names.add(trimmed)
  }
  return names
}

/** The origin URL for this request: the origin's base joined with the path as sent, never re-resolved. */
export function originTarget(originBase: string, requestUrl: URL): string {
  // String joining, not `new URL(path, base)`: a path like //evil.example would otherwise
  // be read as a protocol-relative URL and leave the origin.
  const base = originBase.endsWith('/') ? originBase.replace(/\/+$/, '') : originBase
  return `${base}${requestUrl.pathname}${requestUrl.search}`
}

// ORIGIN_URL's origin and path, joined once per config (so once per isolate) rather than read
// from its URL on every request.
const originBases = new WeakMap<Config, string>()
function defaultOriginBase(config: Config): string {
  let base = originBases.get(config)
  if (base === undefined) {
    base = `${config.originUrl.origin}${config.originUrl.pathname}`.replace(/\/+$/, '')
    originBases.set(config, base)
  }
  return base
}

/** Where this request goes: ORIGIN_URL, a route's own origin, or a service binding. */
export function destination(c: AppContext, target: Target, url: URL) {
  if (target.kind === 'service') {
    // A service binding named by ACCESS, checked at config time; Env does not list it.
    const binding = (c.env as unknown as Record<string, Fetcher>)[target.binding]!
    // The bound Worker sees the request's own URL; nothing leaves Cloudflare's network.
    return {
      url: originTarget(url.origin, url),
      fetch: (url: string, init: RequestInit) => binding.fetch(url, init),
    }
  }
  const base =
    target.kind === 'origin'
      ? `${target.origin}${target.pathPrefix}`
      : defaultOriginBase(c.get('config'))
  return { url: originTarget(base, url), fetch: undefined }
}

export const DEFAULT_TARGET: Target = { kind: 'default' }

export async function forwardedHeaders(
  c: AppContext,
  identity: ForwardIdentity | null,
  route?: ProxiedRoute,
): Promise<Headers> {
  const incoming = c.req.raw.headers
  // One native copy, then only what must not pass is deleted: cheaper than appending every header
  // the browser sent to an empty Headers one call at a time.
  const headers = new Headers(incoming)
  const connection = incoming.get('connection')
  const nominated = connection ? connectionNominated(connection) : undefined
  for (const name of incoming.keys()) {
    if (
      HOP_BY_HOP.has(name) ||
      nominated?.has(name) ||
      name === 'host' ||
      isGatewayOwned(foldName(name))
    )
      headers.delete(name)
  }
  const cookie = withoutGatewayCookies(incoming.get('cookie'))
  if (cookie) headers.set('cookie', cookie)
  else headers.delete('cookie')
  // The gateway's own bearer token is the person's, for the gateway only; any other
  // Authorization is the origin's business and passes untouched.
  const authorization = incoming.get('authorization')
  if (authorization !== null && isGatewayBearer(authorization)) headers.delete('authorization')

  const url = requestUrl(c)
  headers.set('x-forwarded-host', url.host)
  headers.set('x-forwarded-proto', url.protocol.slice(0, -1))
  headers.set('x-forwarded-for', clientIp(c))
  const requestId = c.get('requestId')
  if (requestId) headers.set('x-request-id', requestId)
  const signing = setIdentityHeaders(c, headers, identity, route, url.host, true)
  if (signing) await signing
  return headers
}

/**
 * Forwards the request to its destination and streams the answer back: body streamed both ways,
 * the origin's redirects handed to the browser rather than followed, compression left to the
 * runtime (workerd decodes the origin's body and encodes it again for the client, as for any
 * Worker that passes a response through).
 *
 * Written on `fetch` rather than hono/proxy: the headers are built here already, and hono/proxy
 * would make a second Request and copy the origin's headers into a second Response on every
 * request (measured: about a fifth of the gateway's own CPU per proxied request).
 */
export async function forwardToOrigin(
  c: AppContext,
  identity: ForwardIdentity | null,
  route?: ProxiedRoute,
): Promise<Response> {
  const { url, fetch: viaBinding } = destination(c, route?.target ?? DEFAULT_TARGET, requestUrl(c))
  const raw = c.req.raw
  refuseServiceWorkerFolder(raw, requestUrl(c))
  const init: RequestInit = {
    method: raw.method,
    headers: await forwardedHeaders(c, identity, route),
    // The origin's redirects are the browser's to follow.
    redirect: 'manual',
    // An answer personalised from X-Auth-User must never be cached by URL and served to
    // someone else.
    cache: 'no-store',
  }
  if (raw.body) {
    init.body = raw.body
    ;(init as { duplex?: string }).duplex = 'half'
  }
  let answer: Response
  try {
    answer = await (viaBinding ?? fetch)(url, init)
  } catch {
    log({ event: 'origin_unreachable' })
    throw new GatewayError(
      502,
      'origin_unavailable',
      'The site is not answering. Please try again.',
    )
  }
  const { response, droppedGatewayCookies } = originAnswer(answer)
  guardServiceWorkerAnswer(raw, requestUrl(c), response)
  log({
    event: identity ? 'proxied' : 'proxied_public',
    originStatus: response.status,
    ...(droppedGatewayCookies > 0 && { droppedGatewayCookies }),
  })
  return response
}

/**
 * The origin's answer as the client gets it. One copy, because a fetched answer's headers cannot
 * be changed (requestLog in index.ts adds the request id): the origin's headers stay as they are,
 * except those that describe its connection to us, and that it cannot set or clear the gateway's
 * cookies.
 */
export function originAnswer(answer: Response): {
  response: Response
  droppedGatewayCookies: number
} {
  const response = new Response(answer.body, answer)
  const headers = response.headers
  dropHopByHop(headers)
  const droppedGatewayCookies = dropGatewaySetCookies(headers)
  return { response, droppedGatewayCookies }
}

/** Removes the origin's hop-by-hop headers, and those its Connection header names. */
function dropHopByHop(headers: Headers): void {
  const connection = headers.get('connection')
  if (connection) for (const name of connectionNominated(connection)) headers.delete(name)
  for (const name of HOP_BY_HOP) headers.delete(name)
}
