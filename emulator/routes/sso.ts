import type { Context, Hono } from 'hono'
import { oauthError } from '../errors.ts'
import { opaqueToken, workosId } from '../ids.ts'
import { membershipJson } from '../organizations.ts'
import {
  ACCESS_TOKEN_TTL_S,
  type AuthorizationCode,
  type EmulatorState,
  type SsoSignIn,
} from '../state.ts'
import { pkceMatches, userAccessToken } from '../tokens.ts'

// Code exchanges (WorkOS API reference, SSO): /sso/token takes Magic Link codes and the
// emulated IdP's SSO codes; /user_management/authenticate's authorization_code grant takes codes
// from /user_management/authorize. The SDK posts /sso/token form-encoded; the spec also allows
// JSON and query parameters, so all three are read.

async function tokenParams(c: Context): Promise<Record<string, string>> {
  const params: Record<string, string> = { ...c.req.query() }
  const contentType = c.req.header('content-type') ?? ''
  if (contentType.includes('application/x-www-form-urlencoded')) {
    new URLSearchParams(await c.req.text()).forEach((value, key) => {
      params[key] = value
    })
  } else if (contentType.includes('application/json')) {
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null
    for (const [key, value] of Object.entries(body ?? {})) {
      if (typeof value === 'string') params[key] = value
    }
  }
  return params
}

/**
 * The checks both exchanges share: the client, then the code. A confidential client sends the API
 * key as client_secret; a public one sends only a PKCE verifier (getProfileAndToken sends both
 * when it has both). A code issued with a code_challenge needs the verifier that hashes to it, and
 * a verifier for a code issued without one is refused, since the authorize request then skipped
 * PKCE. Failed client checks and wrong verifiers leave the code unspent.
 */
function takeCode(
  c: Context,
  state: EmulatorState,
  params: Record<string, unknown>,
  api: AuthorizationCode['api'],
): AuthorizationCode | Response {
  const clientId = typeof params.client_id === 'string' ? params.client_id : ''
  if (clientId !== state.options.clientId)
    return oauthError(c, 'invalid_client', `Invalid client ID '${clientId}'.`)
  const secret = typeof params.client_secret === 'string' ? params.client_secret : undefined
  const verifier = typeof params.code_verifier === 'string' ? params.code_verifier : undefined
  if (secret !== undefined && secret !== state.options.apiKey)
    return oauthError(c, 'invalid_client', 'Invalid client secret.')
  if (secret === undefined && !verifier)
    return oauthError(c, 'invalid_client', 'Send a client_secret or a PKCE code_verifier.')
  const value = typeof params.code === 'string' ? params.code : ''
  const code = value ? state.codes.get(value) : undefined
  if (!code || code.api !== api || code.used || code.expiresAt <= state.now())
    return oauthError(c, 'invalid_grant', `The code '${value}' has expired or is invalid.`)
  if (code.codeChallenge !== undefined) {
    if (!verifier || !pkceMatches(code.codeChallenge, verifier))
      return oauthError(c, 'invalid_grant', 'The code_verifier does not match the code_challenge.')
  } else if (verifier !== undefined) {
    return oauthError(c, 'invalid_grant', 'The code was not issued with a code_challenge.')
  }
  code.used = true
  return code
}

/**
 * The SSO profile of one IdP-page sign-in (ProfileResponse). Its id is stable per email and
 * connection, as WorkOS keeps one profile per person per connection; role, roles and groups are
 * what was typed on the page this time.
 */
export function ssoProfile(state: EmulatorState, signIn: SsoSignIn) {
  const key = `${signIn.connectionId} ${signIn.email.toLowerCase()}`
  let ids = state.ssoProfileIds.get(key)
  if (!ids) {
    ids = { id: workosId('prof'), idpId: opaqueToken(12) }
    state.ssoProfileIds.set(key, ids)
  }
  return {
    object: 'profile' as const,
    id: ids.id,
    idp_id: ids.idpId,
    organization_id: signIn.organizationId,
    connection_id: signIn.connectionId,
    connection_type: state.connections.get(signIn.connectionId)?.connectionType ?? 'GenericSAML',
    email: signIn.email,
    first_name: signIn.firstName,
    last_name: signIn.lastName,
    role: { slug: signIn.role },
    roles: [{ slug: signIn.role }],
    groups: signIn.groups,
    custom_attributes: {},
    raw_attributes: {},
  }
}

/** /user_management/authenticate with grant_type=authorization_code (authenticateWithCode). */
export function exchangeUserManagementCode(
  c: Context,
  state: EmulatorState,
  params: Record<string, unknown>,
): Response {
  const code = takeCode(c, state, params, 'user_management')
  if (code instanceof Response) return code
  const signIn = code.sso!
  const user = state.userFor(signIn.email) ?? state.createUser(signIn.email)
  const now = new Date(state.now()).toISOString()
  user.email_verified = true
  user.first_name = signIn.firstName ?? user.first_name
  user.last_name = signIn.lastName ?? user.last_name
  user.last_sign_in_at = now
  user.updated_at = now
  const membership = state.membershipOf(signIn.organizationId, signIn.email)
  const roles = membership?.roles ?? [signIn.role]
  return c.json({
    user,
    organization_id: signIn.organizationId,
    access_token: userAccessToken(user.id, state.now(), {
      org_id: signIn.organizationId,
      role: roles[0],
      roles,
      permissions: [],
    }),
    refresh_token: opaqueToken(24),
    authentication_method: 'SSO',
    ...(membership && {
      organization_membership: membershipJson(
        membership,
        state.organizations.get(signIn.organizationId),
      ),
    }),
  })
}

export function ssoRoutes(app: Hono, state: EmulatorState) {
  app.post('/sso/token', async (c) => {
    const params = await tokenParams(c)
    if (params.grant_type !== 'authorization_code')
      return oauthError(
        c,
        'unsupported_grant_type',
        `The grant_type '${params.grant_type ?? ''}' is not supported.`,
      )
    const code = takeCode(c, state, params, 'sso')
    if (code instanceof Response) return code
    const sso = code.sso && ssoProfile(state, code.sso)
    const profile = sso ?? state.profileFor(code.email)
    const accessToken = opaqueToken(32)
    state.accessTokens.set(accessToken, {
      email: code.email,
      expiresAt: state.now() + ACCESS_TOKEN_TTL_S * 1000,
      ...(sso && { ssoProfile: sso }),
    })
    // No oauth_tokens: WorkOS adds them for OAuth providers only, not SAML or OIDC connections.
    return c.json({
      token_type: 'Bearer',
      access_token: accessToken,
      expires_in: ACCESS_TOKEN_TTL_S,
      profile,
    })
  })

  app.get('/sso/profile', (c) => {
    const token = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1]
    const grant = token ? state.accessTokens.get(token) : undefined
    if (!grant || grant.expiresAt <= state.now()) return c.json({ error: 'Unauthorized' }, 401)
    return c.json(grant.ssoProfile ?? state.profileFor(grant.email))
  })
}
