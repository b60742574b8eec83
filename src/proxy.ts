import type { Context } from 'hono'
import { proxy } from 'hono/proxy'
import { ASSERTION_HEADER, signAssertion } from './assertion/sign'
import { clientIp } from './context'
import { GatewayError } from './errors'
import { log } from './log'
import { dropGatewaySetCookies, withoutGatewayCookies } from './gateway-cookies'
import type { SessionRecord } from './session/record'

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
// Headers only the gateway may set. Matched after folding case and "_" to "-", because many
// origins (CGI, Rack, Django, nginx's underscores_in_headers) read X_Auth_User as X-Auth-User.
const GATEWAY_OWNED = [/^x-auth-/, /^x-forwarded-/, /^forwarded$/, /^x-real-ip$/, /^x-request-id$/]

const foldName = (name: string) => name.toLowerCase().replace(/_/g, '-')

/** The origin URL for this request: the origin's base joined with the path as sent, never re-resolved. */
export function originTarget(originUrl: URL, requestUrl: URL): string {
  // String joining, not `new URL(path, base)`: a path like //evil.example would otherwise
  // be read as a protocol-relative URL and leave the origin.
  const basePath = originUrl.pathname.replace(/\/+$/, '')
  return `${originUrl.origin}${basePath}${requestUrl.pathname}${requestUrl.search}`
}

export async function forwardedHeaders(
  c: Context,
  identity: Pick<SessionRecord, 'userId' | 'email' | 'sid'> | null,
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
    if (GATEWAY_OWNED.some((pattern) => pattern.test(folded))) continue
    headers.append(name, value)
  }
  const cookie = withoutGatewayCookies(incoming.get('cookie'))
  if (cookie) headers.set('cookie', cookie)

  const url = new URL(c.req.url)
  headers.set('x-forwarded-host', url.host)
  headers.set('x-forwarded-proto', url.protocol.slice(0, -1))
  headers.set('x-forwarded-for', clientIp(c))
  const requestId = c.get('requestId')
  if (requestId) headers.set('x-request-id', requestId)
  if (identity) {
    headers.set('x-auth-user', identity.userId)
    headers.set('x-auth-email', identity.email)
    headers.set(ASSERTION_HEADER, await signAssertion(c, identity))
  }
  return headers
}

/**
 * Forwards the request to the origin and streams the answer back unchanged: body streamed both
 * ways, the origin's redirects handed to the browser rather than followed.
 */
export async function forwardToOrigin(
  c: Context,
  identity: Pick<SessionRecord, 'userId' | 'email' | 'sid'> | null,
): Promise<Response> {
  const target = originTarget(c.get('config').originUrl, new URL(c.req.url))
  const headers = await forwardedHeaders(c, identity)
  try {
    // no-store: an answer personalised from X-Auth-User must never be cached by URL and served
    // to someone else.
    const response = await proxy(target, {
      raw: c.req.raw,
      headers,
      redirect: 'manual',
      cache: 'no-store',
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
