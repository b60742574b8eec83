import type { AppContext } from '../app-env'
import type { CompiledRoute } from '../access/index.ts'
import { GatewayError } from '../errors'
import { log } from '../log'
import { readClient, redirectUriMatches, type OAuthClient } from './clients'
import { routeForResource } from './resources'

// The query of GET /auth/oauth/authorize (OAuth 2.1 §4.1.1, RFC 7636, RFC 8707), checked in two
// steps. Until the client and its redirect URI are known, nothing is sent to that URI: an error
// there is the gateway's own page (RFC 6749 §4.1.2.1), so the endpoint cannot be used to send a
// person anywhere. Every later error goes back to the client at the redirect URI.

/** What a client asks for, once every parameter has been checked. */
export interface AuthorizationRequest {
  readonly clientId: string
  readonly redirectUri: string
  readonly state: string | undefined
  /** BASE64URL(SHA-256(code_verifier)) (S256: the only method taken). */
  readonly codeChallenge: string
  /** The route's resource identifier (README "Command lines and AI agents"). */
  readonly resource: string
  /** Kept with the grant and given back with its tokens; the gateway gives it no meaning. */
  readonly scope: string | undefined
}

/** An error sent back to the client (RFC 6749 §4.1.2.1, RFC 8707 §2). */
export interface AuthorizationError {
  readonly error:
    | 'invalid_request'
    | 'unsupported_response_type'
    | 'unauthorized_client'
    | 'invalid_target'
    | 'access_denied'
  readonly description: string
}

const ONCE = ['response_type', 'client_id', 'redirect_uri', 'state', 'scope'] as const
const ONCE_PKCE = ['code_challenge', 'code_challenge_method'] as const
// SHA-256 in base64url without padding: what S256 makes of any verifier.
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/
// A client's opaque values are passed back as they are; this only bounds them.
const MAX_VALUE_LENGTH = 1024

/** The client and the redirect URI it asked for, or the gateway's own 400 page. */
export async function trustedRedirect(
  c: AppContext,
  query: URLSearchParams,
): Promise<{ client: OAuthClient; redirectUri: string }> {
  const clientIds = query.getAll('client_id')
  const client = clientIds.length === 1 ? await readClient(c, clientIds[0]!) : null
  if (!client) {
    log({ event: 'oauth_authorize_refused', reason: 'unknown_client' })
    throw new GatewayError(
      400,
      'unknown_client',
      'This application is not registered with the sign-in service (or its registration has expired). Go back to it and connect again.',
    )
  }
  const redirectUris = query.getAll('redirect_uri')
  const redirectUri = redirectUris.length === 1 ? redirectUris[0]! : undefined
  if (redirectUri === undefined || !redirectUriMatches(client, redirectUri)) {
    log({ event: 'oauth_authorize_refused', reason: 'unregistered_redirect_uri' })
    throw new GatewayError(
      400,
      'invalid_redirect_uri',
      'This application asked to be sent back to an address it did not register. Nothing was sent to it.',
    )
  }
  return { client, redirectUri }
}

/**
 * The rest of the query, for a client whose redirect URI is trusted: the request, with the route
 * its resource names, or what to send back.
 */
export function checkAuthorizationRequest(
  c: AppContext,
  query: URLSearchParams,
  client: OAuthClient,
  redirectUri: string,
): { request: AuthorizationRequest; route: CompiledRoute } | AuthorizationError {
  for (const name of [...ONCE, ...ONCE_PKCE])
    if (query.getAll(name).length > 1) return invalid(`${name} is given more than once.`)
  const state = query.get('state') ?? undefined
  const scope = query.get('scope') ?? undefined
  if ((state?.length ?? 0) > MAX_VALUE_LENGTH || (scope?.length ?? 0) > MAX_VALUE_LENGTH)
    return invalid(`state and scope are at most ${MAX_VALUE_LENGTH} characters.`)
  const responseType = query.get('response_type')
  if (responseType === null) return invalid('response_type is required.')
  if (responseType !== 'code')
    return {
      error: 'unsupported_response_type',
      description: 'Only response_type=code is supported.',
    }
  if (!client.grantTypes.includes('authorization_code'))
    return {
      error: 'unauthorized_client',
      description: 'This client did not register the authorization_code grant.',
    }
  // PKCE is required of every client (OAuth 2.1 §4.1.1), and only S256: `plain` would put the
  // verifier itself in the address bar.
  if (query.get('code_challenge_method') !== 'S256')
    return invalid('code_challenge_method=S256 is required (PKCE; plain is not accepted).')
  const codeChallenge = query.get('code_challenge') ?? ''
  if (!S256_CHALLENGE.test(codeChallenge))
    return invalid('code_challenge must be BASE64URL(SHA-256(code_verifier)), 43 characters.')
  const resources = query.getAll('resource')
  const route = resources.length === 1 ? routeForResource(c, resources[0]!) : undefined
  if (!route)
    return {
      error: 'invalid_target',
      description:
        'resource is required, once, and must be the identifier of an application this gateway fronts.',
    }
  return {
    request: {
      clientId: client.clientId,
      redirectUri,
      state,
      codeChallenge,
      resource: resources[0]!,
      scope,
    },
    route,
  }
}

const invalid = (description: string): AuthorizationError => ({
  error: 'invalid_request',
  description,
})

/** The path and query of GET /auth/oauth/authorize asking for `request` again. */
export function authorizePathOf(request: AuthorizationRequest): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    code_challenge: request.codeChallenge,
    code_challenge_method: 'S256',
    resource: request.resource,
  })
  if (request.state !== undefined) query.set('state', request.state)
  if (request.scope !== undefined) query.set('scope', request.scope)
  return `${AUTHORIZE_PATH}?${query}`
}

export const AUTHORIZE_PATH = '/auth/oauth/authorize'
