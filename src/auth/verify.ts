import type { Context } from 'hono'
import { requestUrl } from '../context'
import { checkPath, evaluate, type Outcome } from '../access/index.ts'
import { ASSERTION_HEADER, signAssertion, type ForwardIdentity } from '../assertion/sign'
import { log } from '../log'
import { wantsHtml } from '../negotiate'
import { safeReturnTo } from '../redirect'
import { sameSecret } from '../secret-compare'
import { callerOf } from '../gate/principal'

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
  // Whether the asker proved it is the proxy (FORWARD_AUTH_TOKEN), checked once for both uses.
  const fromProxy = await isProvenProxy(c)
  const client = forwardedClient(c, fromProxy)

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
  if (access) {
    const evaluation = evaluate(access, facts(request, client), caller.principal)
    outcome = evaluation.outcome
    log({
      decision: outcome,
      ...(evaluation.outcome !== 'no_route' && { accessRoute: evaluation.route.name }),
    })
  } else {
    outcome = caller.principal ? 'allow' : 'sign_in'
  }

  if (outcome === 'allow' && caller.principal) {
    await setIdentityHeaders(c, caller.identity, fromProxy)
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
 * The request the proxy asks about: Traefik and Caddy send X-Forwarded-Method/-Uri/-Host, nginx
 * (with the README's snippet) X-Original-Method/-URI and the host in X-Forwarded-Host or Host.
 * A proxy passes the client's own headers along too, so a client could add the family the proxy
 * does not set: when both families name a method or a URI and they differ, nothing is decided.
 * With ACCESS the method must be given (rules by method must not fall back to GET).
 */
function forwardedRequest(
  c: Context,
): { uri: string; method: string; host: string; path: string } | { problem: string; uri: string } {
  const pick = (forwarded: string, original: string) => {
    const a = c.req.header(forwarded)
    const b = c.req.header(original)
    if (a !== undefined && b !== undefined && a !== b) return { conflict: true as const }
    return { value: a ?? b }
  }
  const uri = pick('x-forwarded-uri', 'x-original-uri')
  const method = pick('x-forwarded-method', 'x-original-method')
  const fallbackUri = ('value' in uri && uri.value) || '/'
  if ('conflict' in uri || 'conflict' in method)
    return {
      problem: 'The proxy sent X-Forwarded-* and X-Original-* headers that disagree.',
      uri: fallbackUri,
    }
  if (method.value === undefined || uri.value === undefined)
    return {
      problem:
        'The proxy must send the request method and URI (X-Forwarded-Method and X-Forwarded-Uri, or X-Original-Method and X-Original-URI).',
      uri: fallbackUri,
    }
  // The host comes with its family: X-Forwarded-Host beside X-Forwarded-Uri (Traefik, Caddy, the
  // README's nginx snippet); with nginx's X-Original-URI, from Host (ACCESS.md), so a client-added
  // X-Forwarded-Host cannot name another host's rules.
  const forwardedFamily = c.req.header('x-forwarded-uri') !== undefined
  const host =
    (forwardedFamily ? c.req.header('x-forwarded-host') : undefined) ?? requestUrl(c).host
  // The path exactly as the proxy sent it, never re-resolved: checkPath must see dot segments
  // and escapes as the origin would.
  const path = uri.value.split('?', 1)[0] ?? ''
  return { uri: uri.value, method: method.value.toUpperCase(), host, path }
}

/**
 * Who is asking, for `ips` and `countries`: at /auth/verify the connection is the proxy's, not the
 * person's. A proxy that proves itself with FORWARD_AUTH_TOKEN names the client in X-Real-IP or
 * as the last X-Forwarded-For entry (the address it saw); otherwise the address and the country
 * are unknown, and no `ips` or `countries` condition matches.
 */
function forwardedClient(
  c: Context,
  fromProxy: boolean,
): { ip: string; country: string | undefined } {
  if (!fromProxy) return { ip: '', country: undefined }
  const realIp = c.req.header('x-real-ip')?.trim()
  const lastForwarded = c.req.header('x-forwarded-for')?.split(',').pop()?.trim()
  return { ip: realIp || lastForwarded || '', country: undefined }
}

/** The asker sent FORWARD_AUTH_TOKEN as X-Forward-Auth-Token (compared in constant time). */
async function isProvenProxy(c: Context): Promise<boolean> {
  const token = c.get('config').forwardAuthToken
  const proxyToken = c.req.header('x-forward-auth-token')
  return token !== undefined && proxyToken !== undefined && sameSecret(proxyToken, token)
}

function facts(
  request: { host: string; path: string; method: string },
  client: { ip: string; country: string | undefined },
) {
  return { ...request, ip: client.ip, country: client.country, now: Date.now() }
}

async function setIdentityHeaders(c: Context, identity: ForwardIdentity, fromProxy: boolean) {
  if (identity.kind === 'person') {
    c.header('X-Auth-User', identity.userId)
    c.header('X-Auth-Email', identity.email)
  } else {
    c.header('X-Auth-User', identity.id)
    c.header('X-Auth-Service-Token', identity.name)
  }
  // The assertion goes only to a proxy that proves it is one: any page on this hostname can
  // fetch /auth/verify, and must not walk away with a token it could replay to an origin.
  if (fromProxy) c.header(ASSERTION_HEADER, await signAssertion(c, identity))
}
