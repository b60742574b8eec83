import type { AppContext } from '../app-env'
import {
  decide,
  decideMethods,
  forwardAuthRoute,
  matchRoute,
  overrideRoutedElsewhere,
  requestFacts,
  type CompiledAccess,
  type CompiledRoute,
  type CorsPolicy,
  type Outcome,
  type RequestFacts,
} from '../access/index.ts'
import { auditDecision } from '../audit/access'
import { clientIp, requestUrl } from '../context'
import { GatewayError } from '../errors'
import { proxiedClientIp } from '../forward-auth-proxy'
import { log } from '../log'
import { isWebSocketUpgrade, type AskedRequest, type GateMode } from './asked-request'
import { preflightAllowed } from './cors'
import { methodOverrides } from './method-override'
import { callerOf, type Caller } from './principal'

// The one gate's decision, for the request itself (proxy) and for the one a forward-auth proxy
// names: the same route, caller, facts and decide(). Each mode answers it its own way
// (src/gate/index.ts, src/auth/verify.ts) from one answer table (src/gate/answers.ts). Under
// ACCESS the path must have passed checkPath first.

/** What the route decided for an asked request, with what an answer needs. */
export interface Decided {
  readonly outcome: Outcome
  readonly route: CompiledRoute
  readonly caller: Caller
  readonly facts: RequestFacts
  /** The `_method` overrides decided as well (a socket decides them again while it is open). */
  readonly overrides: readonly string[]
}

/**
 * The `cors` of the route a preflight asks about, when the gate answers it (without
 * credentials): through the proxy for any preflight on a route with `cors` (204, or 403 for an
 * origin or method not listed); at forward-auth only one to let through (200), and anything else
 * is decided like any other request. A preflight on a route without `cors` is decided like any
 * other OPTIONS request.
 */
export function preflightCors(
  c: AppContext,
  policy: CompiledAccess,
  asked: AskedRequest,
  mode: GateMode,
): CorsPolicy | undefined {
  if (asked.method !== 'OPTIONS') return undefined
  const origin = c.req.header('origin')
  const method = c.req.header('access-control-request-method')
  if (origin === undefined || method === undefined) return undefined
  // Matched on the method it asks about.
  const route = matchRoute(policy, { host: asked.host, path: asked.path, method })
  if (!route?.cors || (mode === 'forward-auth' && !preflightAllowed(c, route.cors)))
    return undefined
  if (policy.source === 'ACCESS') log({ accessRoute: route.name, decision: 'preflight' })
  return route.cors
}

/**
 * The route that decides the asked request; undefined: none (`no_route`). Forward-auth under
 * PUBLIC_PATHS decides every request as its signed-in route (CompiledAccess.source).
 */
export function routeOf(
  policy: CompiledAccess,
  asked: AskedRequest,
  mode: GateMode,
): CompiledRoute | undefined {
  if (mode === 'forward-auth' && policy.source === 'PUBLIC_PATHS') return forwardAuthRoute(policy)
  const route = matchRoute(policy, asked)
  if (!route && policy.source === 'ACCESS') log({ decision: 'no_route' })
  return route
}

// Service tokens only under ACCESS; strict routes check revocation with the authority itself.
// One frozen object per combination: nothing is allocated per request.
const CALLER_OPTIONS = [false, true].flatMap((serviceTokens) =>
  [false, true].map((strictRevocation) => Object.freeze({ serviceTokens, strictRevocation })),
)
const callerOptions = (serviceTokens: boolean, strict: boolean) =>
  CALLER_OPTIONS[(serviceTokens ? 2 : 0) + (strict ? 1 : 0)]!

const NOBODY: Caller = Object.freeze({ principal: null, reason: 'not_signed_in' })
const NO_OVERRIDES: readonly string[] = Object.freeze([])

/**
 * The decision of `route` for the asked request: its caller (not even looked for on a
 * PUBLIC_PATHS entry), and, once that allows, every `_method` override the origin may act on (the
 * route must take it too: 400 otherwise, since which rules apply cannot be told). Only the request
 * itself has its body read for one; forward-auth never sees a body.
 */
export async function decideOn(
  c: AppContext,
  policy: CompiledAccess,
  asked: AskedRequest,
  route: CompiledRoute,
  mode: GateMode,
): Promise<Decided> {
  const fromAccess = policy.source === 'ACCESS'
  // A strict route has the caller's session or token checked with the authority itself, so an
  // end recorded anywhere before this request is known.
  const caller =
    route.public && !fromAccess
      ? NOBODY
      : await callerOf(
          c,
          callerOptions(fromAccess, route.strictRevocation),
          route,
          // Where a bearer token must belong: the host asked for. None at forward-auth: the
          // proxy would pass the token on to the origin, so there it opens nothing.
          mode === 'proxy' ? () => requestUrl(c).origin : undefined,
        )
  const facts =
    mode === 'proxy'
      ? requestFacts(
          asked,
          clientIp(c),
          (c.req.raw.cf as { country?: string } | undefined)?.country,
        )
      : // At /auth/verify the connection is the proxy's: only a proxy proving itself with
        // FORWARD_AUTH_TOKEN names the client (proxiedClientIp); otherwise no `ips` condition
        // matches. The country is never known there.
        requestFacts(asked, proxiedClientIp(c) ?? '', undefined)
  let decision = decide(route, facts, caller.principal)
  let overrides = NO_OVERRIDES
  if (decision.outcome === 'allow') {
    overrides = await methodOverrides(c, policy, asked, mode === 'proxy')
    if (overrides.length > 0) {
      const elsewhere = overrideRoutedElsewhere(policy, asked, route, overrides)
      if (elsewhere !== undefined) {
        log({
          accessRoute: route.name,
          event: 'refused_method_override',
          methodOverride: elsewhere,
        })
        throw new GatewayError(
          400,
          'method_override_refused',
          `This address takes ${elsewhere} under other rules than ${asked.method.toUpperCase()}: ` +
            `send the request as ${elsewhere} instead of naming it in _method.`,
        )
      }
      decision = decideMethods(route, facts, overrides, caller.principal)
    }
  }
  if (caller.principal) {
    // An upgrade the route takes no WebSockets for is refused after this decision (403): it is
    // recorded as the refusal it is, not as an allowed access.
    const refusedUpgrade =
      decision.outcome === 'allow' && mode === 'proxy' && !route.websockets && isWebSocketUpgrade(c)
    auditDecision(c, route, caller, {
      outcome: refusedUpgrade ? 'deny' : decision.outcome,
      rule: refusedUpgrade ? 'websockets' : decision.rule,
      method: asked.method,
      overrides,
      mode,
    })
  }
  if (fromAccess)
    log({
      accessRoute: route.name,
      decision: decision.outcome,
      ...(decision.rule && { rule: decision.rule }),
      ...(overrides.length > 0 && { methodOverride: overrides[0] }),
    })
  return { outcome: decision.outcome, route, caller, facts, overrides }
}

/**
 * The route as the origin is told it (X-Auth-Route, the assertion's audience): an ACCESS route;
 * PUBLIC_PATHS's routes are the gateway's own (undefined: ASSERTION_AUDIENCE, no name).
 */
export const namedRoute = (policy: CompiledAccess, route: CompiledRoute) =>
  policy.source === 'ACCESS' ? route : undefined
