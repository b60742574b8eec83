import type { Context } from 'hono'
import { checkPath, evaluate, type Outcome } from '../access/index.ts'
import { ASSERTION_HEADER, signAssertion, type ForwardIdentity } from '../assertion/sign'
import { clientIp } from '../context'
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
  if (access && !checkPath(forwarded.path).ok) {
    log({ event: 'refused_bad_path' })
    return c.json({ error: 'bad_path', message: 'The forwarded address is not valid.' }, 400)
  }

  const origin = c.req.header('origin')
  const asked = c.req.header('access-control-request-method')
  if (access && forwarded.method === 'OPTIONS' && origin && asked) {
    // A preflight forwarded by a proxy (its subrequest is a GET): allowed for a listed origin on a
    // route with `cors`, without credentials.
    const method = asked.toUpperCase()
    const decision = evaluate(access, { ...facts(c, forwarded), method }, null)
    const cors = decision.outcome === 'no_route' ? undefined : decision.route.cors
    if (cors && cors.origins.has(origin) && cors.methods.includes(method)) {
      c.header('Access-Control-Allow-Origin', origin)
      c.header('Access-Control-Allow-Methods', cors.allowMethods)
      if (cors.allowHeaders) c.header('Access-Control-Allow-Headers', cors.allowHeaders)
      if (cors.credentials) c.header('Access-Control-Allow-Credentials', 'true')
      c.header('Vary', 'Origin')
      return c.body(null, 200)
    }
  }

  // Without ACCESS no route names a service token: only a person's session counts.
  const caller = await callerOf(c, { serviceTokens: access !== undefined })
  let outcome: Outcome | 'no_route'
  if (access) {
    const evaluation = evaluate(access, facts(c, forwarded), caller.principal)
    outcome = evaluation.outcome
    log({
      decision: outcome,
      ...(evaluation.outcome !== 'no_route' && { accessRoute: evaluation.route.name }),
    })
  } else {
    outcome = caller.principal ? 'allow' : 'sign_in'
  }

  if (outcome === 'allow' && caller.principal) {
    await setIdentityHeaders(c, caller.identity)
    return c.body(null, 200)
  }
  if (outcome === 'allow') return c.body(null, 200) // a public route, nobody signed in
  if (outcome === 'sign_in' || outcome === 'reauthenticate') {
    const wantsRedirect =
      c.req.query('redirect') === '1' && forwarded.method === 'GET' && wantsHtml(c)
    if (wantsRedirect) {
      const returnTo = safeReturnTo(forwarded.uri)
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

/** The request the proxy asks about: Traefik/Caddy X-Forwarded-*, or nginx X-Original-*. */
function forwardedRequest(c: Context) {
  const uri = c.req.header('x-forwarded-uri') ?? c.req.header('x-original-uri') ?? '/'
  const method = (
    c.req.header('x-forwarded-method') ??
    c.req.header('x-original-method') ??
    'GET'
  ).toUpperCase()
  const host = c.req.header('x-forwarded-host') ?? new URL(c.req.url).host
  // The path exactly as the proxy sent it, never re-resolved: checkPath must see dot segments
  // and escapes as the origin would.
  const path = uri.split('?', 1)[0] ?? ''
  return { uri, method, host, path }
}

function facts(c: Context, forwarded: ReturnType<typeof forwardedRequest>) {
  return {
    host: forwarded.host,
    path: forwarded.path,
    method: forwarded.method,
    ip: clientIp(c),
    country: (c.req.raw.cf as { country?: string } | undefined)?.country,
    now: Date.now(),
  }
}

async function setIdentityHeaders(c: Context, identity: ForwardIdentity) {
  if (identity.kind === 'person') {
    c.header('X-Auth-User', identity.userId)
    c.header('X-Auth-Email', identity.email)
  } else {
    c.header('X-Auth-User', identity.id)
    c.header('X-Auth-Service-Token', identity.name)
  }
  // The assertion goes only to a proxy that proves it is one: any page on this hostname can
  // fetch /auth/verify, and must not walk away with a token it could replay to an origin.
  const token = c.get('config').forwardAuthToken
  const proxyToken = c.req.header('x-forward-auth-token')
  if (token && proxyToken && (await sameSecret(proxyToken, token)))
    c.header(ASSERTION_HEADER, await signAssertion(c, identity))
}
