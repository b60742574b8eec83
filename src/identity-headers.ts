import type { AppContext } from './app-env'
import { routeAudience } from './access/index.ts'
import { ASSERTION_HEADER, signAssertion, type ForwardIdentity } from './assertion/sign'
import type { CompiledRoute } from './access/index.ts'

/** What proxying needs of the ACCESS route that allowed a request (undefined without ACCESS). */
export type ProxiedRoute = Pick<
  CompiledRoute,
  'name' | 'target' | 'assertion' | 'audience' | 'audiencePath'
>

/**
 * Writes who an allowed request is for: into the origin's request (the proxy and the WebSocket
 * relay), or into forward-auth's answer, which the proxy in front copies onto the origin's
 * request. One writer, so an origin learns the same whichever way the request reached it:
 * X-Auth-User, with X-Auth-Email and X-Auth-Organization for a person or X-Auth-Service-Token for
 * a service token; X-Auth-Route, the ACCESS route that allowed it (`route`; undefined without
 * ACCESS); and, with `assertion`, X-Auth-Assertion for the route's audience (none for a public
 * route that did not ask for one, `host` for a route without an exact one), or without ACCESS the
 * one origin's. Signing is the only wait: the promise returned, when there is an assertion.
 */
export function setIdentityHeaders(
  c: AppContext,
  headers: Headers,
  identity: ForwardIdentity | null,
  route: ProxiedRoute | undefined,
  host: string,
  assertion: boolean,
): Promise<void> | undefined {
  if (route) headers.set('x-auth-route', route.name)
  if (identity === null) return undefined
  if (identity.kind === 'person') {
    headers.set('x-auth-user', identity.userId)
    headers.set('x-auth-email', identity.email)
    if (identity.organizationId) headers.set('x-auth-organization', identity.organizationId)
    // A client acting as the person with a bearer token (src/oauth/) says so.
    if (identity.clientId) headers.set('x-auth-client', identity.clientId)
  } else {
    headers.set('x-auth-user', identity.id)
    headers.set('x-auth-service-token', identity.name)
  }
  if (!assertion) return undefined
  // Each route's own audience, so no origin can replay its assertion to another.
  const audience = route ? routeAudience(route, host) : c.get('config').assertionAudience
  if (audience === undefined) return undefined
  return signAssertion(c, identity, audience).then((token) => {
    headers.set(ASSERTION_HEADER, token)
  })
}
