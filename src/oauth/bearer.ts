import type { AppContext } from '../app-env'
import type { CompiledRoute } from '../access/index.ts'
import { kvOrFailClosed } from '../kv/fail-closed'
import { log } from '../log'
import { authorityOf, revocationsReady } from '../revocation/authority-client'
import { resourceOf, takesBearer } from './resources'
import { cachedGrantOfAccessToken, grantOfAccessToken, isGatewayBearer, type Grant } from './tokens'

// A request carrying one of the gateway's access tokens (`Authorization: Bearer gwat_…`): the
// token acts as the person of its grant, on its own resource only, and is decided by the route's
// policy like a cookie. Never on the gateway's own /auth/* (those read only the cookie), and the
// token never reaches an origin (src/proxy.ts drops it; any other Authorization passes).

/**
 * The gateway token an Authorization header carries, or undefined (any other value). Only
 * `Bearer <token>` alone presents one: a header that carries a token any other way (two headers
 * joined, another scheme) is answered as a token that opens nothing, never read past.
 */
export function bearerTokenOf(c: AppContext): string | undefined {
  const authorization = c.req.header('authorization')
  if (authorization === undefined || !isGatewayBearer(authorization)) return undefined
  return /^\s*bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? authorization
}

/**
 * The grant `token` opens for a request to `route` reached at `origin`, or null (answered
 * `401 invalid_token`): unknown, expired, revoked, another resource's, or a route that refuses
 * bearer tokens. A strict route reads the revocation authority first.
 */
export async function grantForRequest(
  c: AppContext,
  token: string,
  route: CompiledRoute,
  origin: string,
  strictRevocation: boolean,
): Promise<Grant | null> {
  if (!takesBearer(route)) return refused('route_refuses_tokens')
  const ready = strictRevocation ? authorityOf(c).readNow() : revocationsReady(c)
  if (ready) await ready
  // A repeat request is answered from the isolate's caches without arming the KV deadline.
  let opened = cachedGrantOfAccessToken(c, token)
  if (opened === undefined) opened = await kvOrFailClosed(() => grantOfAccessToken(c, token))
  if (!opened) return refused('unknown_or_ended')
  if (opened.token.resource !== resourceOf(origin, route)) return refused('other_resource')
  log({ oauthClientId: opened.token.clientId })
  return opened.grant
}

function refused(reason: string): null {
  log({ event: 'oauth_token_refused', reason })
  return null
}
