import type { AppContext } from '../app-env'
import { kvOrFailClosed } from '../kv/fail-closed'
import { log } from '../log'
import { revocationsReady } from '../revocation/authority-client'
import { sessionStore } from '../session/current'
import type { OAuthClient } from './clients'
import {
  deviceHandleOf,
  notePoll,
  readDeviceRequest,
  rewriteDeviceRequest,
  type DeviceRequest,
} from './device-requests'
import { claimSingleUse, releaseClaim } from './single-use'
import { endGrant, issueGrant, issueTokens, type TokenAnswer } from './tokens'

// grant_type=urn:ietf:params:oauth:grant-type:device_code at the token endpoint (RFC 8628 §3.4,
// §3.5): the device polls with its device code until the person has answered on the verification
// page (src/oauth/device-verification.ts). src/oauth/token.ts answers what this decides.

/** The errors a poll may answer (RFC 8628 §3.5, RFC 6749 §5.2, RFC 8707 §2). */
export type DevicePollError =
  | 'invalid_request'
  | 'invalid_grant'
  | 'invalid_target'
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token'

export type DevicePollAnswer = TokenAnswer | { error: DevicePollError; description: string }

const refusal = (error: DevicePollError, description: string) => ({ error, description })

/**
 * One poll by `client`: pending (or `slow_down` when too soon), denied, expired, or the tokens,
 * once. The device code is then spent: presenting it again is someone replaying it, answered
 * `invalid_grant`, and the grant the first poll made ends (as a replayed authorization code's).
 */
export async function pollDeviceCode(
  c: AppContext,
  fields: Map<string, string>,
  client: OAuthClient,
): Promise<DevicePollAnswer> {
  const deviceCode = fields.get('device_code')
  if (deviceCode === undefined) return refusal('invalid_request', 'device_code is required.')
  const handle = await deviceHandleOf(deviceCode)
  const request = handle === undefined ? null : await readDeviceRequest(c, handle)
  // Forgotten once expired (KV's TTL): unknown and expired codes are told apart by nobody.
  if (!handle || !request)
    return refusal('expired_token', 'The device code has expired (or is unknown): start again.')
  if (request.clientId !== client.clientId)
    return refusal('invalid_grant', 'The device code was issued to another client.')
  const resource = fields.get('resource')
  if (resource !== undefined && resource !== request.resource)
    return refusal('invalid_target', 'resource is not the one the device code was issued for.')
  if (request.usedBy !== undefined) {
    log({ event: 'oauth_device_code_replayed', outcome: 'grant_ended' })
    await endGrant(c, request.usedBy, request.personKey, 'code_replayed')
    return refusal('invalid_grant', 'The device code was already used.')
  }
  if (request.expiresAt <= Date.now())
    return refusal('expired_token', 'The device code has expired: start again.')
  if (request.state === 'denied')
    return refusal('access_denied', 'The person declined, or may not use this application.')
  if (request.state === 'pending')
    return (await notePoll(c, handle, request)) === 'slow_down'
      ? refusal('slow_down', 'Polling too often: wait 5 seconds longer between requests.')
      : refusal('authorization_pending', 'The person has not answered yet.')
  return approvedTokens(c, handle, request, client)
}

/** The tokens of an approved request, from the browser session that approved it. */
async function approvedTokens(
  c: AppContext,
  handle: string,
  request: DeviceRequest,
  client: OAuthClient,
): Promise<DevicePollAnswer> {
  // Two polls at the same moment both read "approved" (KV has no compare-and-swap): the first
  // claims the device code in this isolate, and neither hands out tokens when both came.
  const { first, claim } = claimSingleUse(`device:${handle}`)
  if (!first) {
    if (claim.grantHandle !== undefined)
      await endGrant(c, claim.grantHandle, request.personKey, 'code_replayed')
    return refusal('invalid_grant', 'The device code was already used.')
  }
  try {
    const { sessionHandle, personKey } = request
    // That sign-in must still be live: signed out since, or ended, the approval goes with it (an
    // end recorded anywhere is known here within the bound, as for a code).
    const ready = revocationsReady(c)
    if (ready) await ready
    const approving =
      sessionHandle && personKey
        ? await kvOrFailClosed(() => sessionStore(c).getByHandle(sessionHandle, personKey))
        : null
    if (!approving) return refusal('access_denied', 'The sign-in that approved this has ended.')
    const grant = await issueGrant(
      c,
      { record: approving },
      { clientId: client.clientId, clientName: client.clientName },
      request.resource,
      request.scope,
    )
    await rewriteDeviceRequest(c, handle, { ...request, usedBy: grant.handle })
    claim.grantHandle = grant.handle
    const tokens = await issueTokens(c, grant)
    if (claim.replayed) {
      await endGrant(c, grant.handle, grant.personKey, 'code_replayed')
      return refusal('invalid_grant', 'The device code was already used.')
    }
    log({ event: 'oauth_device_code_exchanged' })
    return tokens
  } catch (error) {
    releaseClaim(`device:${handle}`)
    throw error
  }
}
