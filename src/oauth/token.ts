import type { AppContext } from '../app-env'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { sha256 } from '../crypto'
import { kvOrFailClosed } from '../kv/fail-closed'
import { log } from '../log'
import { sameSecret } from '../secret-compare'
import { revocationsReady } from '../revocation/authority-client'
import { sessionStore } from '../session/current'
import { DEVICE_GRANT, readClient, type GrantType, type OAuthClient } from './clients'
import { markCodeUsed, readCode, type CodeRecord } from './codes'
import { claimSingleUse, releaseClaim, type Claim } from './single-use'
import { pollDeviceCode, type DevicePollError } from './device-grant'
import {
  endGrant,
  issueGrant,
  issueTokens,
  readToken,
  refreshTokens,
  type TokenAnswer,
} from './tokens'

// The token endpoint (OAuth 2.1 §3.2, README "Tokens"): public clients only (client_id in the
// body, no secret; PKCE stands in for one), form-encoded bodies only, and every answer, error or
// not, kept out of every cache (RFC 6749 §5.1). Errors are RFC 6749 §5.2's JSON.

/** An error of the token and revocation endpoints (RFC 6749 §5.2, RFC 7009 §2.2.1). */
export type TokenError =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | DevicePollError
  | 'invalid_target'

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' }

export function tokenError(
  c: AppContext,
  error: TokenError,
  description: string,
  status: ContentfulStatusCode = error === 'invalid_client' ? 401 : 400,
): Response {
  log({ event: 'oauth_token_error', reason: error })
  return c.json({ error, error_description: description }, status, NO_STORE)
}

const tokenAnswer = (c: AppContext, answer: TokenAnswer) => c.json(answer, 200, NO_STORE)

/**
 * A form body's parameters (RFC 6749 §3.2: application/x-www-form-urlencoded), or the error to
 * answer: another body, or a parameter given twice (§3.1: never more than once).
 */
export async function formParameters(
  c: AppContext,
): Promise<Map<string, string> | { error: string }> {
  const type = (c.req.header('content-type') ?? '').toLowerCase()
  if (!type.startsWith('application/x-www-form-urlencoded'))
    return { error: 'Send the parameters as application/x-www-form-urlencoded.' }
  const fields = new Map<string, string>()
  // Decoded by hand: workerd warns when a form body is read as text.
  const body = new TextDecoder().decode(await c.req.arrayBuffer())
  for (const [name, value] of new URLSearchParams(body)) {
    if (fields.has(name)) return { error: `${name} is given more than once.` }
    fields.set(name, value)
  }
  return fields
}

type Fields = Map<string, string>

/**
 * The registered public client a token-endpoint request names (`client_id` in the body), or the
 * `401 invalid_client` to answer: an unknown client, or a secret (none is ever issued here: one
 * sent is a client configured for another server).
 */
export async function publicClient(c: AppContext, fields: Fields): Promise<OAuthClient | Response> {
  if (fields.get('client_secret'))
    return tokenError(
      c,
      'invalid_client',
      'Clients here are public: send client_id in the body, and no secret.',
    )
  const client = await readClient(c, fields.get('client_id') ?? '')
  return client ?? tokenError(c, 'invalid_client', 'Unknown client_id: register first.')
}
type GrantHandler = (c: AppContext, fields: Fields, client: OAuthClient) => Promise<Response>

/** The grants this endpoint takes. */
const GRANTS = new Map<string, GrantHandler>([
  ['authorization_code', exchangeCode],
  ['refresh_token', refresh],
  [DEVICE_GRANT, deviceCode],
])

/** POST /auth/oauth/token */
export async function token(c: AppContext): Promise<Response> {
  const fields = await formParameters(c)
  if (!(fields instanceof Map)) return tokenError(c, 'invalid_request', fields.error)
  const grantType = fields.get('grant_type')
  if (grantType === undefined) return tokenError(c, 'invalid_request', 'grant_type is required.')
  const client = await publicClient(c, fields)
  if (client instanceof Response) return client
  const handler = GRANTS.get(grantType)
  if (!handler)
    return tokenError(
      c,
      'unsupported_grant_type',
      `grant_type must be one of: ${[...GRANTS.keys()].join(', ')}.`,
    )
  if (!client.grantTypes.includes(grantType as GrantType))
    return tokenError(c, 'unauthorized_client', `This client did not register ${grantType}.`)
  return handler(c, fields, client)
}

// RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/

/**
 * grant_type=authorization_code: a code is taken once, within 60 s, by the client it was issued
 * to, with the redirect URI and the resource it was issued for and the verifier of its PKCE
 * challenge. A second use is someone replaying it: `invalid_grant`, and the grant the first use
 * made ends (OAuth 2.1 §4.1.3), its tokens with it.
 */
async function exchangeCode(c: AppContext, fields: Fields, client: OAuthClient) {
  const presented = fields.get('code')
  const verifier = fields.get('code_verifier')
  const redirectUri = fields.get('redirect_uri')
  if (presented === undefined || verifier === undefined || redirectUri === undefined)
    return tokenError(c, 'invalid_request', 'code, code_verifier and redirect_uri are required.')
  if (!CODE_VERIFIER.test(verifier))
    return tokenError(
      c,
      'invalid_request',
      'code_verifier must be 43 to 128 unreserved characters.',
    )
  const code = await readCode(c, presented)
  if (!code) return tokenError(c, 'invalid_grant', 'The code is not valid.')
  if (code.usedBy !== undefined) {
    log({ event: 'oauth_code_replayed', outcome: 'grant_ended' })
    await endGrant(c, code.usedBy, code.personKey, 'code_replayed')
    return tokenError(c, 'invalid_grant', 'The code was already used.')
  }
  if (code.expiresAt <= Date.now()) return tokenError(c, 'invalid_grant', 'The code has expired.')
  if (code.clientId !== client.clientId || code.redirectUri !== redirectUri)
    return tokenError(c, 'invalid_grant', 'The code was issued to another client or redirect_uri.')
  const resource = fields.get('resource')
  if (resource !== undefined && resource !== code.resource)
    return tokenError(c, 'invalid_target', 'resource is not the one the code was issued for.')
  // BASE64URL(SHA-256(ASCII(code_verifier))) (RFC 7636 §4.2).
  if (!(await sameSecret(await sha256(verifier), code.codeChallenge)))
    return tokenError(c, 'invalid_grant', 'code_verifier does not match the code_challenge.')
  const { first, claim } = claimSingleUse(presented)
  if (!first) {
    log({ event: 'oauth_code_replayed', outcome: 'grant_ended' })
    if (claim.grantHandle !== undefined)
      await endGrant(c, claim.grantHandle, code.personKey, 'code_replayed')
    return tokenError(c, 'invalid_grant', 'The code was already used.')
  }
  try {
    return await spendCode(c, presented, code, client, claim)
  } catch (error) {
    releaseClaim(presented)
    throw error
  }
}

/** The tokens of a checked code, claimed by this use; none if it was replayed meanwhile. */
async function spendCode(
  c: AppContext,
  presented: string,
  code: CodeRecord,
  client: OAuthClient,
  claim: Claim,
) {
  // The browser session that consented must still be live: signed out since, or ended, the
  // consent goes with it (an end recorded anywhere is known here within the bound, as for a
  // cookie).
  const ready = revocationsReady(c)
  if (ready) await ready
  const consented = await kvOrFailClosed(() =>
    sessionStore(c).getByHandle(code.sessionHandle, code.personKey),
  )
  if (!consented) return tokenError(c, 'invalid_grant', 'The sign-in that approved this has ended.')
  const grant = await issueGrant(
    c,
    { record: consented },
    { clientId: client.clientId, clientName: client.clientName },
    code.resource,
    code.scope,
  )
  await markCodeUsed(c, presented, code, grant.handle)
  claim.grantHandle = grant.handle
  const tokens = await issueTokens(c, grant)
  if (claim.replayed) {
    // Used twice at once: neither side gets tokens, and the grant ends (as for a later replay).
    log({ event: 'oauth_code_replayed', outcome: 'grant_ended' })
    await endGrant(c, grant.handle, grant.personKey, 'code_replayed')
    return tokenError(c, 'invalid_grant', 'The code was already used.')
  }
  log({ event: 'oauth_code_exchanged' })
  return tokenAnswer(c, tokens)
}

/** grant_type=refresh_token: rotated on every use; a used one ends the grant (src/oauth/tokens.ts). */
async function refresh(c: AppContext, fields: Fields, client: OAuthClient) {
  const refreshToken = fields.get('refresh_token')
  if (refreshToken === undefined)
    return tokenError(c, 'invalid_request', 'refresh_token is required.')
  // RFC 8707 §2.2: a refresh names no other resource than its grant's.
  const resource = fields.get('resource')
  if (resource !== undefined) {
    const record = await kvOrFailClosed(() => readToken(c, refreshToken))
    if (record && record.resource !== resource)
      return tokenError(c, 'invalid_target', 'resource is not the one this grant is for.')
  }
  const answer = await refreshTokens(c, refreshToken, client.clientId)
  if ('error' in answer)
    return tokenError(
      c,
      'invalid_grant',
      'The refresh token is not valid (expired, used or revoked).',
    )
  log({ event: 'oauth_token_refreshed' })
  return tokenAnswer(c, answer)
}

/** grant_type=urn:ietf:params:oauth:grant-type:device_code: a poll (src/oauth/device-grant.ts). */
async function deviceCode(c: AppContext, fields: Fields, client: OAuthClient) {
  const answer = await pollDeviceCode(c, fields, client)
  return 'error' in answer
    ? tokenError(c, answer.error, answer.description)
    : tokenAnswer(c, answer)
}
