import type { AppContext } from '../app-env'
import {
  checkPath,
  decideMethods,
  type CompiledAccess,
  type CompiledRoute,
} from '../access/index.ts'
import { GatewayError } from '../errors'
import { onSignInHost } from '../handoff/host-roles'
import { log } from '../log'
import { forwardToOrigin } from '../proxy'
import { relayWebSocket } from '../websocket/relay'
import { badUpgradeAnswer, refuse, refuseDecided } from './answers'
import { isWebSocketUpgrade, proxiedRequest, type AskedRequest } from './asked-request'
import { preflightAnswer, withCors } from './cors'
import { decideOn, namedRoute, preflightCors, routeOf, type Decided } from './decide-request'

/**
 * Everything that is not the gateway's own, through the one gate in its proxy mode: decided by the
 * compiled policy (ACCESS, or PUBLIC_PATHS in its place), and an allowed request goes to the
 * route's origin or service. The path matched is the path forwarded (under ACCESS anything
 * ambiguous is refused first), the host is the request URL's (never X-Forwarded-Host), and method
 * overrides never reach the origin (src/proxy.ts) or, for a `_method` field the origin may act on,
 * are decided as well. The sign-in host (SIGN_IN_HOST) serves no origin content, whatever a route
 * with a wildcard or no host would say: its home is the person's sessions page, and anything else
 * there is not found.
 */
export async function gateAndForward(c: AppContext): Promise<Response> {
  const asked = proxiedRequest(c)
  if (onSignInHost(c)) {
    log({ decision: 'sign_in_host' })
    if (asked.path === '/' && (asked.method === 'GET' || asked.method === 'HEAD'))
      return c.redirect('/auth/sessions', 302)
    return refuse(c, 'proxy', asked, 'no_route')
  }
  const policy = c.get('config').policy
  if (policy.source === 'ACCESS' && !checkPath(asked.path).ok)
    return refuse(c, 'proxy', asked, 'bad_path')
  const upgrade = isWebSocketUpgrade(c)
  if (upgrade && asked.method !== 'GET') return badUpgradeAnswer(c)

  const preflight = preflightCors(c, policy, asked, 'proxy')
  if (preflight) return preflightAnswer(c, preflight)
  const route = routeOf(policy, asked, 'proxy')
  if (!route) return refuse(c, 'proxy', asked, 'no_route')
  const cors = route.cors
  try {
    const decided = await decideOn(c, policy, asked, route, 'proxy')
    if (decided.outcome === 'allow' && upgrade && route.websockets)
      return relay(c, decided, namedRoute(policy, route))
    return withCors(c, cors, await answer(c, policy, asked, decided, upgrade))
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

/** The answer to a decided request: forwarded when allowed, else the gate's own. */
async function answer(
  c: AppContext,
  policy: CompiledAccess,
  asked: AskedRequest,
  decided: Decided,
  upgrade: boolean,
): Promise<Response> {
  if (decided.outcome !== 'allow') return refuseDecided(c, 'proxy', asked, decided)
  if (upgrade) {
    log({ event: 'refused_websocket' })
    return c.json(
      {
        error: 'websockets_not_allowed',
        message: 'This application does not take WebSocket connections.',
      },
      403,
    )
  }
  const { caller, route } = decided
  return forwardToOrigin(c, caller.principal ? caller.identity : null, namedRoute(policy, route))
}

/**
 * An allowed WebSocket upgrade on a route that takes them. A socket outlives this decision: it is
 * decided again (session or token re-read past every cache) while it is open, and closed when the
 * answer changes.
 */
function relay(
  c: AppContext,
  decided: Decided,
  named: CompiledRoute | undefined,
): Promise<Response> {
  const { route, caller, facts, overrides } = decided
  const allowedOrigins = route.cors?.origins
  if (!caller.principal) {
    // A public route: relayed without identity, and nothing to re-check.
    const grant = {
      identity: null,
      endsAt: undefined,
      stillAllowed: async () => true,
      endTags: async () => [],
      allowedOrigins,
    }
    return relayWebSocket(c, grant, named)
  }
  const reread = caller.reread
  const grant = {
    identity: caller.identity,
    endsAt: caller.endsAt,
    stillAllowed: async () => {
      const principal = await reread()
      return (
        principal !== null &&
        decideMethods(route, { ...facts, now: Date.now() }, overrides, principal).outcome ===
          'allow'
      )
    },
    endTags: caller.endTags,
    allowedOrigins,
  }
  return relayWebSocket(c, grant, named)
}
