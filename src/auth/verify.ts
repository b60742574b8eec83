import type { AppContext } from '../app-env'
import { checkPath } from '../access/index.ts'
import { requestUrl } from '../context'
import { GatewayError } from '../errors'
import { fromForwardAuthProxy } from '../forward-auth-proxy'
import { refuse, refuseDecided } from '../gate/answers'
import type { AskedRequest } from '../gate/asked-request'
import { allowPreflight } from '../gate/cors'
import { decideOn, namedRoute, preflightCors, routeOf } from '../gate/decide-request'
import { setIdentityHeaders } from '../identity-headers'
import { log } from '../log'
import { refuseServiceWorkerFolder } from '../service-worker-scope'

/**
 * GET /auth/verify — forward-auth for nginx `auth_request`, Caddy `forward_auth`, Traefik
 * `ForwardAuth`: the one gate (src/gate/) in its forward-auth mode. The request decided is the one
 * the proxy names, with the same route, caller, facts and decision as through the gateway, and
 * the answers come from the same table (src/gate/answers.ts): 200 with the identity headers the
 * origin would get through the gateway for a caller who may make it (the assertion only when the
 * proxy sends FORWARD_AUTH_TOKEN as X-Forward-Auth-Token), 401 for no session, 403 for a refusal
 * (and for no route: README "Forward-auth per path"). With `?redirect=1` (Caddy, Traefik: they
 * hand a non-2xx answer to the browser), a browser navigation gets what it would get through the
 * gateway: a 302 to sign in, or the page.
 *
 * Without ACCESS, any live session is allowed, and X-Forwarded-Uri / X-Original-URI only choose
 * the returnTo. With ACCESS, the forwarded method, host and URI are what is decided on: the answer
 * is only ever the asker's own access (their cookie or token), for whatever URL they name.
 */
export async function forwardAuth(c: AppContext): Promise<Response> {
  c.header('Cache-Control', 'no-store')
  const policy = c.get('config').policy
  const fromAccess = policy.source === 'ACCESS'
  const forwarded = forwardedRequest(c)
  if ('problem' in forwarded && fromAccess) {
    log({ event: 'refused_forwarded_request' })
    return c.json({ error: 'bad_forwarded_request', message: forwarded.problem }, 400)
  }
  const asked: AskedRequest & { uri: string } =
    'problem' in forwarded
      ? { uri: forwarded.uri, method: 'GET', host: '', path: '', query: '' }
      : forwarded
  if (fromAccess && !checkPath(asked.path).ok) return refuse(c, 'forward-auth', asked, 'bad_path')
  // The browser's fetch of a service worker script passes through the proxy like any request: one
  // whose folder could be a scope over /auth/ is refused here (the gateway never sees the
  // origin's answer, so a widening Service-Worker-Allowed is the proxy's to strip).
  if (asked.path || asked.uri.startsWith('/'))
    refuseServiceWorkerFolder(c.req.raw, new URL(asked.path || asked.uri, requestUrl(c)))

  const preflight = preflightCors(c, policy, asked, 'forward-auth')
  if (preflight) {
    // A preflight forwarded by a proxy (its subrequest is a GET), for a listed origin on a route
    // with `cors`: let through, without credentials.
    const answer = c.body(null, 200)
    allowPreflight(c, preflight, answer.headers)
    answer.headers.set('Vary', 'Origin')
    return answer
  }
  const route = routeOf(policy, asked, 'forward-auth')
  if (!route) return refuse(c, 'forward-auth', asked, 'no_route')
  try {
    const decided = await decideOn(c, policy, asked, route, 'forward-auth')
    if (decided.outcome !== 'allow') return await refuseDecided(c, 'forward-auth', asked, decided)
    const answer = c.body(null, 200)
    const { caller } = decided
    // The assertion goes only to a proxy that proves it is one: any page on this hostname can
    // fetch /auth/verify, and must not walk away with a token it could replay to an origin.
    const signing = setIdentityHeaders(
      c,
      answer.headers,
      caller.principal ? caller.identity : null,
      namedRoute(policy, route),
      asked.host,
      fromForwardAuthProxy(c),
    )
    if (signing) await signing
    return answer
  } catch (error) {
    // A forwarded request it cannot decide (a `_method` that is not one method, or that another
    // route takes) is refused to the proxy in JSON, as its other 400s are.
    if (error instanceof GatewayError && error.status === 400) error.jsonOnly = true
    throw error
  }
}

// One value each, as a proxy that sets them sends. One that appends to the client's own copy
// sends a list instead ("GET, DELETE", "x.example, admin.example.com", "/pub/x, /admin"), which
// would be decided as neither the client's request nor the proxy's: a method that is one RFC 9110
// token, a host (name or [IPv6], optional port), and a URI without spaces or control characters.
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z._-]+)(?::[0-9]{1,5})?$/
const REQUEST_TARGET = /^[^\x00-\x20\x7f]+$/

/**
 * The request the proxy asks about, from one family of headers: Traefik and Caddy send
 * X-Forwarded-Method/-Uri/-Host; nginx's `auth_request` is usually given X-Original-Method/-URI,
 * and then the host is Host. A proxy passes along the client's own headers that it does not set,
 * so a client could add the other family (X-Forwarded-Host with it, naming another host's rules):
 * a request with X-Forwarded-Method or -Uri and X-Original-Method or -URI decides nothing.
 * X-Forwarded-Host belongs to the X-Forwarded family: beside X-Original-* it is ignored (nginx
 * configurations often set it for every upstream), never a reason to refuse. With ACCESS the
 * method must be given (rules by method must not fall back to GET).
 */
function forwardedRequest(
  c: AppContext,
): (AskedRequest & { uri: string }) | { problem: string; uri: string } {
  const forwarded = {
    uri: c.req.header('x-forwarded-uri'),
    method: c.req.header('x-forwarded-method'),
  }
  const original = {
    uri: c.req.header('x-original-uri'),
    method: c.req.header('x-original-method'),
  }
  const forwardedFamily = forwarded.uri !== undefined || forwarded.method !== undefined
  const originalFamily = original.uri !== undefined || original.method !== undefined
  const fallbackUri = forwarded.uri || original.uri || '/'
  if (forwardedFamily && originalFamily)
    return {
      problem:
        'The proxy sent both X-Forwarded-Method/-Uri and X-Original-Method/-URI: it must send one family and remove the other.',
      uri: fallbackUri,
    }
  const { uri, method } = forwardedFamily ? forwarded : original
  if (method === undefined || uri === undefined)
    return {
      problem:
        'The proxy must send the request method and URI (X-Forwarded-Method and X-Forwarded-Uri, or X-Original-Method and X-Original-URI).',
      uri: fallbackUri,
    }
  const host =
    (forwardedFamily ? c.req.header('x-forwarded-host') : undefined) ?? requestUrl(c).host
  if (!METHOD.test(method) || !HOST.test(host) || !REQUEST_TARGET.test(uri))
    return {
      problem:
        'The proxy sent a method, host or URI that is not one value: it must set each itself, replacing any copy the client sent.',
      uri: fallbackUri,
    }
  // The path exactly as the proxy sent it, never re-resolved: checkPath must see dot segments
  // and escapes as the origin would.
  const path = uri.split('?', 1)[0] ?? ''
  const mark = uri.indexOf('?')
  const query = mark === -1 ? '' : uri.slice(mark + 1).split('#', 1)[0]!
  return { uri, method: method.toUpperCase(), host, path, query }
}
