import type { AppContext } from '../app-env'
import { matchRoute, normaliseHost, type CompiledRoute } from '../access/index.ts'
import { publicOrigin, requestUrl } from '../context'
import { signInOrigin } from '../handoff/request'

// Every route is a protected resource (RFC 9728), and the gateway is the authorization server for
// all of them (README "Command lines and AI agents"). A resource is named by the route's
// canonical URL on the host it is reached at: that origin, then the route's path base (`/mcp/*`
// and `/mcp` are `https://host/mcp`; `/*` is `https://host/`).

/** The authorization server's issuer: the sign-in host's origin, else PUBLIC_URL's. */
export function issuerOf(c: AppContext): string {
  const { signInHost } = c.get('config')
  return signInHost ? signInOrigin(c, signInHost) : publicOrigin(c)
}

/** The resource identifier of `route` reached at `origin`. */
export const resourceOf = (origin: string, route: CompiledRoute): string =>
  `${origin}${route.audiencePath || '/'}`

/** Whether a route takes the gateway's bearer tokens: not a public route, not `"oauth": false`. */
export const takesBearer = (route: CompiledRoute): boolean => !route.public && route.oauth

/** Where the metadata of the resource `route` is, reached at `origin` (RFC 9728 path insertion). */
export const resourceMetadataUrl = (origin: string, route: CompiledRoute): string =>
  `${origin}/.well-known/oauth-protected-resource${route.audiencePath}`

/**
 * The route a resource identifier names on one of the gateway's own hosts, when that route takes
 * bearer tokens and the identifier is exactly its canonical URL; undefined otherwise (the
 * authorization request answers `invalid_target`).
 */
export function routeForResource(c: AppContext, resource: string): CompiledRoute | undefined {
  let url: URL
  try {
    url = new URL(resource)
  } catch {
    return undefined
  }
  if (url.search || url.hash || url.username || url.password) return undefined
  if (!isGatewayHost(c, url)) return undefined
  // The sign-in host serves no route (SIGN_IN_HOST): nothing there is a resource.
  const { signInHost } = c.get('config')
  if (signInHost !== undefined && normaliseHost(url.hostname) === signInHost) return undefined
  const route = matchRoute(c.get('config').policy, {
    host: url.host,
    path: url.pathname,
    method: 'GET',
  })
  if (!route || !takesBearer(route)) return undefined
  return resourceOf(url.origin, route) === resource ? route : undefined
}

/**
 * A host the gateway serves under its own scheme and port: PUBLIC_URL's, the one asked, or a
 * host a session may be handed to (ALLOWED_HOSTS and the exact hosts ACCESS names).
 */
function isGatewayHost(c: AppContext, url: URL): boolean {
  const own = new URL(publicOrigin(c))
  if (url.protocol !== own.protocol || url.port !== own.port) return false
  if (url.origin === own.origin || url.origin === requestUrl(c).origin) return true
  return c.get('config').handoffHosts.has(normaliseHost(url.hostname))
}
