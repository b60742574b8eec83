import type { AppContext } from '../app-env'
import { clientKey } from '../abuse/client-key'
import { allowed } from '../abuse/rate-limit'
import { log } from '../log'
import { DEVICE_GRANT, readClient } from './clients'
import { createDeviceRequest, DEVICE_REQUEST_SECONDS, showUserCode } from './device-requests'
import { DEVICE_PATH } from './device-verification'
import { issuerOf, routeForResource } from './resources'
import { formParameters, tokenError } from './token'

// POST /auth/oauth/device_authorization (RFC 8628 §3.1, §3.2): a command line, which has no
// browser to send back to, asks for a device code to poll with and a user code for the person to
// type on the verification page (src/oauth/device-verification.ts). Like the token endpoint it
// takes a form from public clients, reads no cookie, and answers every origin.

const LIMIT_RETRY_AFTER_SECONDS = 60
// A client's opaque value is given back with the tokens; this only bounds it.
const MAX_SCOPE_LENGTH = 1024

/** POST /auth/oauth/device_authorization */
export async function deviceAuthorization(c: AppContext): Promise<Response> {
  c.header('Cache-Control', 'no-store')
  // Each request is two KV writes and one read, asked for without any credential: limited per
  // client address (REGISTER_LIMIT_IP, counted apart from registrations).
  if (!(await allowed(c, 'REGISTER_LIMIT_IP', `device:${clientKey(c)}`))) {
    log({ event: 'rate_limited', limiter: 'REGISTER_LIMIT_IP' })
    c.header('Retry-After', String(LIMIT_RETRY_AFTER_SECONDS))
    return c.json(
      {
        error: 'too_many_requests',
        error_description: 'Too many device codes were asked for from this address. Wait a minute.',
      },
      429,
    )
  }
  const fields = await formParameters(c)
  if (!(fields instanceof Map)) return tokenError(c, 'invalid_request', fields.error)
  if (fields.get('client_secret'))
    return tokenError(
      c,
      'invalid_client',
      'Clients here are public: send client_id in the body, and no secret.',
    )
  const client = await readClient(c, fields.get('client_id') ?? '')
  if (!client) return tokenError(c, 'invalid_client', 'Unknown client_id: register first.')
  if (!client.grantTypes.includes(DEVICE_GRANT))
    return tokenError(c, 'unauthorized_client', `This client did not register ${DEVICE_GRANT}.`)
  const resource = fields.get('resource')
  if (resource === undefined || !routeForResource(c, resource))
    return tokenError(
      c,
      'invalid_target',
      'resource is required, and must be the identifier of an application this gateway fronts.',
    )
  const scope = fields.get('scope')
  if (scope !== undefined && scope.length > MAX_SCOPE_LENGTH)
    return tokenError(c, 'invalid_request', `scope is at most ${MAX_SCOPE_LENGTH} characters.`)
  const { deviceCode, userCode, request } = await createDeviceRequest(c, {
    clientId: client.clientId,
    resource,
    ...(scope !== undefined && { scope }),
  })
  log({ event: 'oauth_device_code_issued', clientId: client.clientId })
  const verificationUri = `${issuerOf(c)}${DEVICE_PATH}`
  const shown = showUserCode(userCode)
  return c.json({
    device_code: deviceCode,
    user_code: shown,
    verification_uri: verificationUri,
    verification_uri_complete: `${verificationUri}?user_code=${shown}`,
    expires_in: DEVICE_REQUEST_SECONDS,
    interval: request.interval,
  })
}
