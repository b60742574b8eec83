import type { Context } from 'hono'
import { requestUrl } from '../context'
import {
  checkPath,
  decideMethods,
  dependsOnMethod,
  evaluate,
  overrideMethods,
  overrideRoutedElsewhere,
  overrideValuesIn,
  routeAudience,
  type CompiledAccess,
  type Outcome,
} from '../access/index.ts'
import { ASSERTION_HEADER, signAssertion, type ForwardIdentity } from '../assertion/sign'
import { log } from '../log'
import { wantsHtml } from '../negotiate'
import { safeReturnTo } from '../redirect'
import { fromForwardAuthProxy, proxiedClientIp } from '../forward-auth-proxy'
import { callerOf } from '../gate/principal'
import { refuseServiceWorkerFolder } from '../service-worker-scope'

/**
 * GET /auth/verify — forward-auth for nginx `auth_request`, Caddy `forward_auth`, Traefik
 * `ForwardAuth`: 200 with the identity headers for a caller who may make the forwarded request
 * (and the assertion, when the proxy sends FORWARD_AUTH_TOKEN as X-Forward-Auth-Token), 401 for
 * no session, 403 for one ACCESS refuses. With `?redirect=1` (Caddy, Traefik: they hand a non-2xx
 * answer to the browser), a browser navigation gets a 302 to the sign-in page instead.
 *
 * Without ACCESS, any live session is allowed, and X-Forwarded-Uri / X-Original-URI only choose
 * the returnTo. With ACCESS, the forwarded method, host and URI are what is decided on: the answer
 * is only ever the asker's own access (their cookie or token), for whatever URL they name.
 */
export async function forwardAuth(c: Context) {
  c.header('Cache-Control', 'no-store')
  const access = c.get('config').access
  const forwarded = forwardedRequest(c)
  if (access && 'problem' in forwarded) {
    log({ event: 'refused_forwarded_request' })
    return c.json({ error: 'bad_forwarded_request', message: forwarded.problem }, 400)
  }
  const request =
    'problem' in forwarded ? { uri: forwarded.uri, method: 'GET', host: '', path: '' } : forwarded
  if (access && !checkPath(request.path).ok) {
    log({ event: 'refused_bad_path' })
    return c.json({ error: 'bad_path', message: 'The forwarded address is not valid.' }, 400)
  }
  // The browser's fetch of a service worker script passes through the proxy like any request: one
  // whose folder could be a scope over /auth/ is refused here (the gateway never sees the
  // origin's answer, so a widening Service-Worker-Allowed is the proxy's to strip).
  if (request.path || request.uri.startsWith('/'))
    refuseServiceWorkerFolder(c.req.raw, new URL(request.path || request.uri, requestUrl(c)))
  // Whether the asker proved it is the proxy (FORWARD_AUTH_TOKEN): it alone names the client.
  const fromProxy = fromForwardAuthProxy(c)
  const client = forwardedClient(c)

  const origin = c.req.header('origin')
  const asked = c.req.header('access-control-request-method')
  if (access && request.method === 'OPTIONS' && origin && asked) {
    // A preflight forwarded by a proxy (its subrequest is a GET): allowed for a listed origin on a
    // route with `cors`, without credentials.
    const method = asked.toUpperCase()
    const decision = evaluate(access, { ...facts(request, client), method }, null)
    const cors = decision.outcome === 'no_route' ? undefined : decision.route.cors
    const headers = (c.req.header('access-control-request-headers') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean)
    if (
      cors &&
      cors.origins.has(origin) &&
      cors.methods.includes(method) &&
      headers.every((name) => cors.headers.includes(name))
    ) {
      c.header('Access-Control-Allow-Origin', origin)
      c.header('Access-Control-Allow-Methods', cors.allowMethods)
      if (cors.allowHeaders) c.header('Access-Control-Allow-Headers', cors.allowHeaders)
      if (cors.credentials) c.header('Access-Control-Allow-Credentials', 'true')
      c.header('Vary', 'Origin')
      return c.body(null, 200)
    }
  }

  const caller = await callerOf(c, { serviceTokens: access !== undefined })
  let outcome: Outcome | 'no_route'
  // The assertion's audience: the decided route's (none for a public route without
  // "assertion": true), as its origin would get it through the gateway; without ACCESS, the one.
  let audience: string | undefined = c.get('config').assertionAudience
  if (access) {
    const asked = facts(request, client)
    const evaluation = evaluate(access, asked, caller.principal)
    outcome = evaluation.outcome
    if (outcome === 'allow' && evaluation.outcome !== 'no_route') {
      // A `_method` in the forwarded query is decided as well, as the gate does (the body never
      // reaches forward-auth: README "Forward-auth per path").
      const overrides = queryOverrides(access, request)
      if (overrides === undefined) {
        log({ event: 'refused_method_override' })
        return c.json(
          { error: 'bad_method_override', message: '_method must name one HTTP method.' },
          400,
        )
      }
      if (overrideRoutedElsewhere(access, asked, evaluation.route, overrides) !== undefined) {
        log({ event: 'refused_method_override' })
        return c.json(
          {
            error: 'method_override_refused',
            message: 'The _method of this request would be decided by another route.',
          },
          400,
        )
      }
      outcome = decideMethods(evaluation.route, asked, overrides, caller.principal).outcome
    }
    audience =
      evaluation.outcome === 'no_route' ? undefined : routeAudience(evaluation.route, request.host)
    log({
      decision: outcome,
      ...(evaluation.outcome !== 'no_route' && { accessRoute: evaluation.route.name }),
    })
  } else {
    outcome = caller.principal ? 'allow' : 'sign_in'
  }

  if (outcome === 'allow' && caller.principal) {
    await setIdentityHeaders(c, caller.identity, fromProxy ? audience : undefined)
    return c.body(null, 200)
  }
  if (outcome === 'allow') return c.body(null, 200) // a public route, nobody signed in
  if (outcome === 'sign_in' || outcome === 'reauthenticate') {
    const wantsRedirect =
      c.req.query('redirect') === '1' && request.method === 'GET' && wantsHtml(c)
    if (wantsRedirect) {
      const returnTo = safeReturnTo(request.uri)
      const query = [
        returnTo === '/' ? '' : `returnTo=${encodeURIComponent(returnTo)}`,
        outcome === 'reauthenticate' ? 'reauth=1' : '',
      ]
        .filter(Boolean)
        .join('&')
      return c.redirect(query ? `/auth/login?${query}` : '/auth/login', 302)
    }
    return outcome === 'sign_in'
      ? c.json({ error: 'not_signed_in', message: 'Sign in to continue.' }, 401)
      : c.json({ error: 'reauthentication_required', message: 'Sign in again to continue.' }, 401)
  }
  if (outcome === 'mfa_required')
    return c.json({ error: 'mfa_required', message: 'A second factor is required.' }, 401)
  if (outcome === 'no_route')
    return c.json({ error: 'no_route', message: 'There is nothing at this address.' }, 403)
  return c.json({ error: 'access_denied', message: 'This account may not use this address.' }, 403)
}

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
  c: Context,
): { uri: string; method: string; host: string; path: string } | { problem: string; uri: string } {
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
  // The path exactly as the proxy sent it, never re-resolved: checkPath must see dot segments
  // and escapes as the origin would.
  const path = uri.split('?', 1)[0] ?? ''
  return { uri, method: method.toUpperCase(), host, path }
}

/**
 * Who is asking, for `ips` and `countries`: at /auth/verify the connection is the proxy's, not the
 * person's. Only a proxy that proves itself with FORWARD_AUTH_TOKEN names the client, in the
 * X-Forwarded-For entry it writes itself (proxiedClientIp); otherwise the address is unknown and
 * no `ips` condition matches. The country is never known here.
 */
function forwardedClient(c: Context): { ip: string; country: string | undefined } {
  return { ip: proxiedClientIp(c) ?? '', country: undefined }
}

function facts(
  request: { host: string; path: string; method: string },
  client: { ip: string; country: string | undefined },
) {
  return { ...request, ip: client.ip, country: client.country, now: Date.now() }
}

/** `audience` undefined: no assertion (not a proven proxy, or a route that gives none). */
async function setIdentityHeaders(
  c: Context,
  identity: ForwardIdentity,
  audience: string | undefined,
) {
  if (identity.kind === 'person') {
    c.header('X-Auth-User', identity.userId)
    c.header('X-Auth-Email', identity.email)
  } else {
    c.header('X-Auth-User', identity.id)
    c.header('X-Auth-Service-Token', identity.name)
  }
  // The assertion goes only to a proxy that proves it is one: any page on this hostname can
  // fetch /auth/verify, and must not walk away with a token it could replay to an origin.
  if (audience !== undefined) c.header(ASSERTION_HEADER, await signAssertion(c, identity, audience))
}

/** The `_method` overrides in the forwarded URI's query to decide as well; undefined: refused. */
function queryOverrides(
  access: CompiledAccess,
  request: { uri: string; method: string; host: string; path: string },
): readonly string[] | undefined {
  const query = request.uri.indexOf('?')
  if (query === -1 || !dependsOnMethod(access, request)) return []
  const values: string[] = []
  overrideValuesIn(request.uri.slice(query + 1).split('#', 1)[0]!, values)
  const overrides = overrideMethods(values, request.method)
  return overrides.ok ? overrides.methods : undefined
}
