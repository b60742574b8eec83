import type { AppContext } from '../app-env'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { clientKey } from '../abuse/client-key'
import { allowed } from '../abuse/rate-limit'
import { GatewayError } from '../errors'
import { log } from '../log'
import {
  DEVICE_GRANT,
  GRANT_TYPES,
  isRegistrableRedirectUri,
  registerClient,
  type ClientMetadata,
  type GrantType,
} from './clients'

// POST /auth/oauth/register: dynamic client registration (RFC 7591), for public clients only (a
// command line or an MCP client has nowhere to keep a secret; PKCE protects its codes instead).
// Anyone may register: a registration grants nothing until a person approves it on the consent
// page, where its name is shown as the client's own claim. Registrations are limited per client
// address (REGISTER_LIMIT_IP) and expire when unused for 30 days (src/oauth/clients.ts).

const DEFAULT_GRANT_TYPES: readonly GrantType[] = ['authorization_code', 'refresh_token']
const MAX_CLIENT_NAME_LENGTH = 100
const MAX_REDIRECT_URIS = 10
const LIMIT_RETRY_AFTER_SECONDS = 60

// C0 and C1 controls, line and paragraph separators, and the bidirectional overrides and
// isolates: each could make the name on the consent page read as another (or as several lines).
const UNSHOWABLE = /[\p{Cc}\u061c\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/u

/** An RFC 7591 error: `{"error", "error_description"}`. */
class RegistrationError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly error: string,
    description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description)
  }
}

const invalidMetadata = (description: string) =>
  new RegistrationError(400, 'invalid_client_metadata', description)
const invalidRedirectUri = (description: string) =>
  new RegistrationError(400, 'invalid_redirect_uri', description)

export async function registerOAuthClient(c: AppContext): Promise<Response> {
  c.header('Cache-Control', 'no-store')
  try {
    await limitPerClient(c)
    const metadata = checkMetadata(await jsonBody(c))
    const client = await registerClient(c, metadata)
    log({ event: 'oauth_client_registered', clientId: client.clientId })
    return c.json(
      {
        client_id: client.clientId,
        client_id_issued_at: Math.floor(client.createdAt / 1000),
        ...(client.clientName ? { client_name: client.clientName } : {}),
        redirect_uris: client.redirectUris,
        grant_types: client.grantTypes,
        response_types: client.grantTypes.includes('authorization_code') ? ['code'] : [],
        token_endpoint_auth_method: 'none',
      },
      201,
    )
  } catch (error) {
    // The gateway's own refusals (a limiter or KV that cannot answer) in this endpoint's shape.
    const refusal =
      error instanceof GatewayError
        ? new RegistrationError(error.status, error.code, error.message, error.headers)
        : error
    if (!(refusal instanceof RegistrationError)) throw error
    for (const [name, value] of Object.entries(refusal.headers)) c.header(name, value)
    if (refusal.status === 400) log({ event: 'oauth_registration_refused', error: refusal.error })
    return c.json({ error: refusal.error, error_description: refusal.message }, refusal.status)
  }
}

async function limitPerClient(c: AppContext): Promise<void> {
  if (await allowed(c, 'REGISTER_LIMIT_IP', clientKey(c))) return
  log({ event: 'rate_limited', limiter: 'REGISTER_LIMIT_IP' })
  throw new RegistrationError(
    429,
    'too_many_requests',
    'Too many clients were registered from this address. Please wait a minute and try again.',
    { 'Retry-After': String(LIMIT_RETRY_AFTER_SECONDS) },
  )
}

/** The body as a JSON object (RFC 7591 §3.1: `application/json`). */
async function jsonBody(c: AppContext): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/json\s*(;|$)/i.test(type))
    throw invalidMetadata('The body must be JSON (Content-Type: application/json).')
  let body: unknown
  try {
    body = JSON.parse(await c.req.text())
  } catch {
    throw invalidMetadata('The body is not valid JSON.')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidMetadata('The body must be a JSON object of client metadata.')
  return body as Record<string, unknown>
}

/**
 * What the registration asks for, checked. Fields this server does not use (`scope`, `logo_uri`,
 * `client_uri`, `contacts`…) are ignored, as RFC 7591 §2 allows, and not answered back.
 */
function checkMetadata(body: Record<string, unknown>): ClientMetadata {
  const method = body.token_endpoint_auth_method
  if (method !== undefined && method !== 'none')
    throw invalidMetadata(
      'Only public clients can register: token_endpoint_auth_method must be "none" (PKCE ' +
        'protects the codes).',
    )
  const grantTypes = checkGrantTypes(body.grant_types)
  checkResponseTypes(body.response_types, grantTypes)
  return {
    clientName: checkClientName(body.client_name),
    redirectUris: checkRedirectUris(body.redirect_uris, grantTypes),
    grantTypes,
  }
}

function checkGrantTypes(value: unknown): GrantType[] {
  if (value === undefined) return [...DEFAULT_GRANT_TYPES]
  const known: readonly string[] = GRANT_TYPES
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((type) => typeof type === 'string' && known.includes(type))
  )
    throw invalidMetadata(`grant_types must be a list of: ${GRANT_TYPES.join(', ')}.`)
  const types = [...new Set(value as GrantType[])]
  if (!types.includes('authorization_code') && !types.includes(DEVICE_GRANT))
    throw invalidMetadata(
      'grant_types must include authorization_code or the device grant: a refresh token comes ' +
        'from one of them.',
    )
  return types
}

/** `code` exactly when the authorization code grant is asked for (RFC 7591 §2.1). */
function checkResponseTypes(value: unknown, grantTypes: readonly GrantType[]): void {
  if (value === undefined) return
  if (!Array.isArray(value) || !value.every((type) => type === 'code'))
    throw invalidMetadata('response_types may only be ["code"].')
  if (value.length > 0 !== grantTypes.includes('authorization_code'))
    throw invalidMetadata(
      'response_types ["code"] goes with the authorization_code grant type, and only with it.',
    )
}

function checkClientName(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value !== 'string') throw invalidMetadata('client_name must be a string.')
  const name = value.trim()
  if ([...name].length > MAX_CLIENT_NAME_LENGTH)
    throw invalidMetadata(`client_name must be at most ${MAX_CLIENT_NAME_LENGTH} characters.`)
  if (UNSHOWABLE.test(name))
    throw invalidMetadata('client_name must not contain control or text-direction characters.')
  return name
}

/**
 * Required, except for a client that only uses the device grant (it is never redirected). Each
 * must be one a client may register (isRegistrableRedirectUri).
 */
function checkRedirectUris(value: unknown, grantTypes: readonly GrantType[]): string[] {
  const redirected = grantTypes.includes('authorization_code')
  if (value === undefined && !redirected) return []
  if (!Array.isArray(value) || (redirected && value.length === 0))
    throw invalidRedirectUri('redirect_uris must be a list of at least one URI.')
  if (value.length > MAX_REDIRECT_URIS)
    throw invalidRedirectUri(`redirect_uris may list at most ${MAX_REDIRECT_URIS} URIs.`)
  value.forEach((uri, i) => {
    if (typeof uri !== 'string' || !isRegistrableRedirectUri(uri))
      throw invalidRedirectUri(
        `redirect_uris[${i}] must be an https: URL, or an http: URL on 127.0.0.1, [::1] or ` +
          'localhost (any port), without a fragment.',
      )
  })
  return [...new Set(value as string[])]
}
