import type { AppContext } from '../app-env'
import type { CorsPolicy } from '../access/index.ts'
import { log } from '../log'

// CORS per route (README "CORS"): the gateway answers a route's preflights itself, without a
// session (a preflight never carries credentials, which is why they fail behind gateways that
// demand them), for listed origins only, never with "*". Answers a listed origin's page must read
// (the origin's, and the gateway's own 401/403) carry Access-Control-Allow-Origin.

/** Whether a preflight's origin, method and headers are all ones the route's `cors` lists. */
export function preflightAllowed(c: AppContext, cors: CorsPolicy): boolean {
  const origin = c.req.header('origin') ?? ''
  const method = (c.req.header('access-control-request-method') ?? '').toUpperCase()
  const asked = (c.req.header('access-control-request-headers') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean)
  return (
    cors.origins.has(origin) &&
    cors.methods.includes(method) &&
    asked.every((name) => cors.headers.includes(name))
  )
}

/** The headers that allow a preflight `preflightAllowed` accepts. */
export function allowPreflight(c: AppContext, cors: CorsPolicy, headers: Headers): void {
  headers.set('Access-Control-Allow-Origin', c.req.header('origin')!)
  headers.set('Access-Control-Allow-Methods', cors.allowMethods)
  if (cors.allowHeaders) headers.set('Access-Control-Allow-Headers', cors.allowHeaders)
  if (cors.credentials) headers.set('Access-Control-Allow-Credentials', 'true')
}

/**
 * The answer to a preflight on a route with `cors`, through the proxy: 204 for a listed origin,
 * method and headers, else 403.
 */
export function preflightAnswer(c: AppContext, cors: CorsPolicy): Response {
  const headers = new Headers({ Vary: 'Origin', 'Cache-Control': 'no-store' })
  if (!preflightAllowed(c, cors)) {
    log({ event: 'cors_preflight_refused' })
    return new Response(null, { status: 403, headers })
  }
  log({ event: 'cors_preflight' })
  allowPreflight(c, cors, headers)
  headers.set('Access-Control-Max-Age', String(cors.maxAge))
  return new Response(null, { status: 204, headers })
}

/**
 * Adds the CORS answer headers for a listed origin, unless the origin's answer set its own.
 * The response's headers must be mutable (the proxy's and Hono's are).
 */
export function withCors(
  c: AppContext,
  cors: CorsPolicy | undefined,
  response: Response,
): Response {
  const origin = c.req.header('origin')
  if (!cors || !origin || !cors.origins.has(origin)) return response
  if (response.headers.has('Access-Control-Allow-Origin')) return response
  response.headers.set('Access-Control-Allow-Origin', origin)
  if (cors.credentials) response.headers.set('Access-Control-Allow-Credentials', 'true')
  response.headers.append('Vary', 'Origin')
  return response
}
