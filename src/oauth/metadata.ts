import type { AppContext } from '../app-env'
import { checkPath, matchRoute } from '../access/index.ts'
import { requestUrl } from '../context'
import { onSignInHost } from '../handoff/host-roles'
import { GRANT_TYPES } from './clients'
import { issuerOf, resourceOf, takesBearer } from './resources'

// The two discovery documents (README "Command lines and AI agents"): the authorization server's
// (RFC 8414), on the issuer's host only, and each route's as a protected resource (RFC 9728), on
// every host that serves routes. Both are the gateway's own: no route can claim /.well-known/.

// Every client fetches them at each connection (an MCP client at each 401), and they are the same
// for every caller: a cache may keep them for 5 minutes, which also bounds how long a change to
// ACCESS or PUBLIC_URL takes to reach clients. A 404 is not kept, so a route just opened to tokens
// is found at once.
const CACHE_METADATA = 'public, max-age=300'

export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource'

/** GET /.well-known/oauth-authorization-server (RFC 8414). */
export function authorizationServerMetadata(c: AppContext): Response {
  const issuer = issuerOf(c)
  if (requestUrl(c).origin !== issuer) return notFound(c, `The authorization server is ${issuer}.`)
  c.header('Cache-Control', CACHE_METADATA)
  c.header('X-Content-Type-Options', 'nosniff')
  return c.json({
    issuer,
    authorization_endpoint: `${issuer}/auth/oauth/authorize`,
    token_endpoint: `${issuer}/auth/oauth/token`,
    registration_endpoint: `${issuer}/auth/oauth/register`,
    revocation_endpoint: `${issuer}/auth/oauth/revoke`,
    device_authorization_endpoint: `${issuer}/auth/oauth/device_authorization`,
    response_types_supported: ['code'],
    grant_types_supported: [...GRANT_TYPES],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    authorization_response_iss_parameter_supported: true,
  })
}

/**
 * GET /.well-known/oauth-protected-resource[/<path>] (RFC 9728, the path inserted after the
 * well-known name): the route that GET `<path>` on this host reaches, when it takes bearer tokens.
 * The resource named is that route's, whatever path under it was asked (`/mcp/sse` → `/mcp`).
 */
export function protectedResourceMetadata(c: AppContext): Response {
  const url = requestUrl(c)
  const path = url.pathname.slice(PROTECTED_RESOURCE_PATH.length) || '/'
  const { policy } = c.get('config')
  // The sign-in host (SIGN_IN_HOST) serves no route; a path the gate would refuse names none.
  const route =
    onSignInHost(c) || !checkPath(path).ok
      ? undefined
      : matchRoute(policy, { host: url.host, path, method: 'GET' })
  if (!route || !takesBearer(route))
    return notFound(c, 'No application here takes the gateway’s tokens.')
  c.header('Cache-Control', CACHE_METADATA)
  c.header('X-Content-Type-Options', 'nosniff')
  return c.json({
    resource: resourceOf(url.origin, route),
    authorization_servers: [issuerOf(c)],
    bearer_methods_supported: ['header'],
    // Without ACCESS the route is the gateway's own ("signed-in"), not a name anyone chose.
    ...(policy.source === 'ACCESS' ? { resource_name: route.name } : {}),
  })
}

/** Any other method or name under /.well-known/oauth-: never passed on to an origin. */
export function noSuchMetadata(c: AppContext): Response {
  return notFound(c, 'There is no such document.')
}

function notFound(c: AppContext, message: string): Response {
  c.header('Cache-Control', 'no-store')
  return c.json({ error: 'not_found', message }, 404)
}
