import type { Context } from 'hono'
import {
  checkPath,
  decide,
  decideMethods,
  matchRoute,
  overrideRoutedElsewhere,
  type CompiledAccess,
  type CompiledRoute,
  type Decision,
  type Principal,
  type RequestFacts,
} from '../access/index.ts'
import { clientIp, requestUrl } from '../context'
import { GatewayError } from '../errors'
import { log } from '../log'
import { forwardToOrigin } from '../proxy'
import {
  badPathAnswer,
  badUpgradeAnswer,
  forbiddenAnswer,
  isWebSocketUpgrade,
  mfaAnswer,
  noRouteAnswer,
  reauthenticateAnswer,
  signInAnswer,
} from './answers'
import { isPreflight, preflightAnswer, withCors } from './cors'
import { methodOverrides } from './method-override'
import { callerOf } from './principal'
import { relayWebSocket } from '../websocket/relay'

/**
 * With ACCESS: the path is checked, the first matching route decides who may use it, and an
 * allowed request goes to the route's origin or service. The path matched is the path forwarded
 * (anything ambiguous is refused first), the host is the request URL's (never X-Forwarded-Host),
 * and method overrides never reach the origin (src/proxy.ts) or, for a `_method` field the
 * origin may act on, are decided as well.
 */
export async function policyGate(c: Context): Promise<Response> {
  const access = c.get('config').access!
  const url = requestUrl(c)
  if (!checkPath(url.pathname).ok) return badPathAnswer(c)
  const badUpgrade = badUpgradeAnswer(c)
  if (badUpgrade) return badUpgrade

  // A preflight is matched on the method it asks about, and answered without credentials.
  const preflight = isPreflight(c)
  const method = preflight
    ? (c.req.header('access-control-request-method') ?? '').toUpperCase()
    : c.req.method
  const route = matchRoute(access, { host: url.host, path: url.pathname, method })
  if (route && preflight && route.cors) {
    log({ accessRoute: route.name, decision: 'preflight' })
    return preflightAnswer(c, route.cors)
  }
  // A preflight on a route without `cors` is decided like any other OPTIONS request.
  const decidedRoute = preflight
    ? matchRoute(access, { host: url.host, path: url.pathname, method: c.req.method })
    : route
  if (!decidedRoute) {
    log({ decision: 'no_route' })
    return noRouteAnswer(c)
  }
  const cors = decidedRoute.cors

  try {
    const caller = await callerOf(c)
    const facts: RequestFacts = {
      host: url.host,
      path: url.pathname,
      method: c.req.method,
      ip: clientIp(c),
      country: (c.req.raw.cf as { country?: string } | undefined)?.country,
      now: Date.now(),
    }
    const { decision, overrides } = await decideWithOverrides(
      c,
      access,
      url,
      decidedRoute,
      facts,
      caller.principal,
    )
    log({
      accessRoute: decidedRoute.name,
      decision: decision.outcome,
      ...(decision.rule && { rule: decision.rule }),
      ...(overrides.length > 0 && { methodOverride: overrides[0] }),
    })
    switch (decision.outcome) {
      case 'allow':
        if (isWebSocketUpgrade(c) && !decidedRoute.websockets) {
          log({ event: 'refused_websocket' })
          return withCors(
            c,
            cors,
            c.json(
              {
                error: 'websockets_not_allowed',
                message: 'This application does not take WebSocket connections.',
              },
              403,
            ),
          )
        }
        if (isWebSocketUpgrade(c)) {
          // A socket outlives this decision: it is decided again (session or token re-read past
          // every cache) while it is open, and closed when the answer changes.
          if (!caller.principal) {
            // A public route: relayed without identity, and nothing to re-check.
            return relayWebSocket(
              c,
              {
                identity: null,
                endsAt: undefined,
                stillAllowed: async () => true,
                allowedOrigins: cors?.origins,
              },
              decidedRoute,
            )
          }
          const reread = caller.reread
          return relayWebSocket(
            c,
            {
              identity: caller.identity,
              endsAt: caller.endsAt,
              stillAllowed: async () => {
                const principal = await reread()
                return (
                  principal !== null &&
                  decideMethods(decidedRoute, { ...facts, now: Date.now() }, overrides, principal)
                    .outcome === 'allow'
                )
              },
              allowedOrigins: cors?.origins,
            },
            decidedRoute,
          )
        }
        return withCors(
          c,
          cors,
          await forwardToOrigin(c, caller.principal ? caller.identity : null, decidedRoute),
        )
      case 'sign_in':
        return withCors(
          c,
          cors,
          await signInAnswer(c, caller.principal === null ? caller.reason : 'not_signed_in'),
        )
      case 'reauthenticate':
        return withCors(c, cors, reauthenticateAnswer(c))
      case 'mfa_required':
        return withCors(c, cors, mfaAnswer(c))
      case 'deny':
        return withCors(
          c,
          cors,
          await forbiddenAnswer(
            c,
            { account: caller.principal ? caller.account : '' },
            decidedRoute.name,
          ),
        )
    }
  } catch (error) {
    // The gateway's own refusals (a bad service token, KV down) still carry CORS for a listed
    // origin, so the calling page can read why.
    if (error instanceof GatewayError && cors) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
      return withCors(c, cors, c.json({ error: error.code, message: error.message }, error.status))
    }
    throw error
  }
}

const NO_OVERRIDES: readonly string[] = Object.freeze([])

/**
 * The decision for the request's own method and, once that allows, for any `_method` override the
 * origin may act on (src/gate/method-override.ts): the route must take the override too (400
 * otherwise: which rules apply cannot be told) and allow it.
 */
async function decideWithOverrides(
  c: Context,
  access: CompiledAccess,
  url: URL,
  route: CompiledRoute,
  facts: RequestFacts,
  principal: Principal,
): Promise<{ decision: Decision; overrides: readonly string[] }> {
  const decision = decide(route, facts, principal)
  if (decision.outcome !== 'allow') return { decision, overrides: NO_OVERRIDES }
  const overrides = await methodOverrides(c, access, url)
  if (overrides.length === 0) return { decision, overrides }
  const elsewhere = overrideRoutedElsewhere(access, facts, route, overrides)
  if (elsewhere !== undefined) {
    log({ accessRoute: route.name, event: 'refused_method_override', methodOverride: elsewhere })
    throw new GatewayError(
      400,
      'method_override_refused',
      `This address takes ${elsewhere} under other rules than ${facts.method.toUpperCase()}: ` +
        `send the request as ${elsewhere} instead of naming it in _method.`,
    )
  }
  return { decision: decideMethods(route, facts, overrides, principal), overrides }
}
