import type { AppContext } from '../app-env'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { clientKey } from '../abuse/client-key'
import { countWrongGuess, enforceHourlyGuessLimit } from '../abuse/guess-limit'
import { enforceVerifyLimit } from '../abuse/rate-limit'
import { sha256 } from '../crypto'
import { GatewayError } from '../errors'
import { log } from '../log'
import { isFormPost } from '../negotiate'
import { ConsentPage } from '../pages/consent'
import { DeviceAnswerPage, DeviceCodePage } from '../pages/device'
import { currentSession, type CurrentSession } from '../session/current'
import { personKeyOf } from '../session/store'
import { loginUrl } from '../sign-in/login-form'
import { decisionFor } from './authorize'
import { readClient } from './clients'
import { openForSession, sealForSession } from './consent'
import {
  handleOfUserCode,
  normaliseUserCode,
  readDeviceRequest,
  rewriteDeviceRequest,
  showUserCode,
  type DeviceRequest,
} from './device-requests'
import { routeForResource } from './resources'

// The verification page of the device grant (RFC 8628 §3.3): a signed-in person types the code
// their command line shows, the application's policy decides as it would for their browser (as
// the authorization endpoint does), and the person answers on the same consent page. The device
// learns the answer on its next poll (src/oauth/device-grant.ts). The page never sees the device
// code. Wrong codes are limited per person and per client address (20 an hour each, as sign-in
// codes are), on top of the per-client burst limit for typed codes.

export const DEVICE_PATH = '/auth/device'

type Live = Extract<CurrentSession, { state: 'active' }>

/** GET /auth/device[?user_code=…]: the code form, prefilled from the link the device printed. */
export async function showDeviceForm(c: AppContext): Promise<Response> {
  const code = normaliseUserCode(c.req.query('user_code'))
  const session = await currentSession(c)
  if (session.state !== 'active') return c.redirect(loginUrl({ returnTo: pathFor(code) }), 302)
  return c.html(codePage(c, session, code ? showUserCode(code) : ''))
}

/** POST /auth/device: the typed code; the consent page when the person may use the application. */
export async function enterUserCode(c: AppContext): Promise<Response> {
  if (!isFormPost(c)) throw new GatewayError(415, 'form_required', 'Type the code on the page.')
  const typed = (await c.req.parseBody()).user_code
  const code = normaliseUserCode(typed)
  const session = await currentSession(c)
  if (session.state !== 'active') return c.redirect(loginUrl({ returnTo: pathFor(code) }), 303)
  const again = (error: string) =>
    c.html(codePage(c, session, typeof typed === 'string' ? typed.slice(0, 16) : '', error), 400)
  if (!code) return again('A code is eight letters, like BCDF-GHJK.')
  const found = await lookUp(c, session, code)
  if (!found) return again('That code is not valid or has expired. Check it on your device.')
  const { handle, request } = found
  if (request.state !== 'pending')
    return again('That code was already used. Start again on your device for a new one.')
  const client = await readClient(c, request.clientId)
  const route = routeForResource(c, request.resource)
  const outcome = client && route ? decisionFor(c, route, request.resource, session.record) : 'deny'
  if (outcome === 'reauthenticate' || outcome === 'mfa_required')
    return stepUp(c, outcome, pathFor(code))
  if (outcome !== 'allow' || !client || !route)
    return refuse(c, handle, request, session, route?.name)
  log({ event: 'oauth_consent_asked', accessRoute: route.name })
  const config = c.get('config')
  return c.html(
    ConsentPage({
      productName: config.productName,
      clientName: client.clientName,
      clientId: client.clientId,
      userCode: showUserCode(code),
      application: config.policy.source === 'ACCESS' ? route.name : config.productName,
      resource: request.resource,
      account: session.record.email,
      consent: await sealDeviceConsent(c, handle, code, await sha256(session.sessionId)),
    }),
  )
}

/** POST /auth/device/consent: the person's answer on the consent page. */
export async function decideDevice(c: AppContext): Promise<Response> {
  if (!isFormPost(c)) throw new GatewayError(415, 'form_required', 'Answer from the consent page.')
  const fields = await c.req.parseBody()
  const session = await currentSession(c, { refresh: false })
  const sealed =
    session.state === 'active'
      ? await openDeviceConsent(c, fields.consent, await sha256(session.sessionId))
      : null
  if (!sealed || session.state !== 'active') throw staleConsent('sealed_consent_refused')
  const request = await readDeviceRequest(c, sealed.device)
  if (!request || request.state !== 'pending' || request.expiresAt <= Date.now())
    throw staleConsent('device_request_gone')
  const route = routeForResource(c, request.resource)
  const application = route?.name
  if (fields.decision === 'deny') {
    await rewriteDeviceRequest(c, sealed.device, { ...request, state: 'denied' })
    log({ event: 'oauth_consent_denied' })
    return answerPage(c, 'denied', session, application)
  }
  if (fields.decision !== 'approve')
    throw new GatewayError(400, 'invalid_decision', 'Choose Allow or Deny on the consent page.')
  // Decided again: the policy, or the person's standing, may have changed since the page.
  const client = await readClient(c, request.clientId)
  const outcome = client && route ? decisionFor(c, route, request.resource, session.record) : 'deny'
  if (outcome === 'reauthenticate' || outcome === 'mfa_required')
    return stepUp(c, outcome, pathFor(sealed.userCode))
  if (outcome !== 'allow') return refuse(c, sealed.device, request, session, application)
  await rewriteDeviceRequest(c, sealed.device, {
    ...request,
    state: 'approved',
    sessionHandle: await sha256(session.sessionId),
    personKey: await personKeyOf(session.record.email),
  })
  log({ event: 'oauth_consent_approved', accessRoute: application })
  return answerPage(c, 'approved', session, application)
}

const pathFor = (code: string | undefined) =>
  code ? `${DEVICE_PATH}?user_code=${showUserCode(code)}` : DEVICE_PATH

const codePage = (c: AppContext, session: Live, userCode: string, error?: string) =>
  DeviceCodePage({
    productName: c.get('config').productName,
    account: session.record.email,
    userCode,
    ...(error !== undefined && { error }),
  })

/**
 * The pending request a typed code names, or undefined (counted as a wrong guess against the
 * person and the client address). Limited before it is looked up: a burst per client, then 20
 * wrong codes an hour for each of the two.
 */
async function lookUp(
  c: AppContext,
  session: Live,
  code: string,
): Promise<{ handle: string; request: DeviceRequest } | undefined> {
  const kv = c.env.SESSIONS
  await enforceVerifyLimit(c)
  const subjects = [`device:${session.record.email}`, `device-client:${clientKey(c)}`]
  for (const subject of subjects) await enforceHourlyGuessLimit(kv, subject)
  const handle = await handleOfUserCode(c, code)
  const request = handle === null ? null : await readDeviceRequest(c, handle)
  if (handle !== null && request && request.expiresAt > Date.now()) return { handle, request }
  log({ event: 'oauth_user_code_wrong' })
  for (const subject of subjects) await countWrongGuess(kv, subject, 'user-code')
  return undefined
}

/** A route asking for a recent sign-in or a second factor: that step first, then back here. */
function stepUp(c: AppContext, outcome: 'reauthenticate' | 'mfa_required', again: string) {
  if (outcome === 'reauthenticate')
    return c.redirect(`${loginUrl({ returnTo: again })}&reauth=1`, 303)
  return c.redirect(`/auth/mfa?returnTo=${encodeURIComponent(again)}`, 303)
}

/** A person the route does not allow: the device is told `access_denied`, no consent asked. */
async function refuse(
  c: AppContext,
  handle: string,
  request: DeviceRequest,
  session: Live,
  application: string | undefined,
): Promise<Response> {
  await rewriteDeviceRequest(c, handle, { ...request, state: 'denied' })
  log({ event: 'oauth_device_refused', reason: 'access_denied' })
  return answerPage(c, 'refused', session, application, 403)
}

function answerPage(
  c: AppContext,
  outcome: 'approved' | 'denied' | 'refused',
  session: Live,
  application: string | undefined,
  status: 200 | 403 = 200,
): Response | Promise<Response> {
  const config = c.get('config')
  return c.html(
    DeviceAnswerPage({
      productName: config.productName,
      outcome,
      application: config.policy.source === 'ACCESS' ? (application ?? '') : config.productName,
      account: session.record.email,
    }),
    status,
  )
}

// The consent form posts back which request it was about, sealed for the browser session it was
// shown to, for ten minutes, as the authorization endpoint's is (src/oauth/consent.ts): nothing in
// it can be altered, and it is worthless in another browser.
const PURPOSE = 'oauth-device-consent'

const sealedDeviceConsent = z.object({
  /** The request's handle (the SHA-256 of its device code). */
  device: z.string(),
  userCode: z.string(),
  /** The handle of the browser session the page was shown to. */
  session: z.string(),
  /** Epoch ms. */
  issuedAt: z.number(),
})

const sealDeviceConsent = (c: AppContext, device: string, userCode: string, session: string) =>
  sealForSession(c, PURPOSE, { device, userCode, session, issuedAt: Date.now() })

const openDeviceConsent = (c: AppContext, sealed: unknown, session: string) =>
  openForSession(c, PURPOSE, sealedDeviceConsent, sealed, session)

/** A consent form that cannot be answered: expired, altered, answered, or another session's. */
function staleConsent(reason: string): GatewayError {
  log({ event: 'oauth_consent_refused', reason })
  return new GatewayError(
    400,
    'consent_expired',
    'This page has expired, was already answered, or was not shown to you. Start again on your device.',
  )
}
