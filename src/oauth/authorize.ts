import type { AppContext } from '../app-env'
import { decide, requestFacts, type CompiledRoute, type Outcome } from '../access/index.ts'
import { clientIp, requestUrl } from '../context'
import { sha256 } from '../crypto'
import { GatewayError } from '../errors'
import { personPrincipal } from '../gate/principal'
import { log } from '../log'
import { isFormPost } from '../negotiate'
import { ConsentPage } from '../pages/consent'
import { safeReturnTo } from '../redirect'
import { currentSession, type CurrentSession } from '../session/current'
import type { SessionRecord } from '../session/record'
import { personKeyOf } from '../session/store'
import { loginUrl } from '../sign-in/login-form'
import {
  authorizePathOf,
  checkAuthorizationRequest,
  trustedRedirect,
  type AuthorizationError,
  type AuthorizationRequest,
} from './authorization-request'
import { isLoopbackUrl, readClient, redirectUriMatches, type OAuthClient } from './clients'
import { issueCode } from './codes'
import { openConsent, sealConsent } from './consent'
import { issuerOf, routeForResource } from './resources'

// The authorization endpoint (OAuth 2.1 §4.1, README "Authorizing a client"): a person signed in
// as usual is asked whether a client may act as them in one application, and the client gets a
// code for the token endpoint (src/oauth/token.ts). The application's policy decides first,
// exactly as the gate would decide the person's GET of the resource: someone it refuses gets
// `access_denied` without being asked. Consent is asked on every authorization (nothing is
// remembered), and the answer always names the issuer (`iss`, RFC 9207), so a client talking to
// several servers can tell whose answer it got.

type Live = Extract<CurrentSession, { state: 'active' }>

/** GET /auth/oauth/authorize: the consent page, or the answer sent back to the client. */
export async function showAuthorization(c: AppContext): Promise<Response> {
  const url = requestUrl(c)
  const query = url.searchParams
  const { client, redirectUri } = await trustedRedirect(c, query)
  const state = query.getAll('state')[0]
  const checked = checkAuthorizationRequest(c, query, client, redirectUri)
  if ('error' in checked) return sendBackUnasked(c, redirectUri, state, checked)
  const { request, route } = checked
  // Where signing in comes back to: this very request, which must survive as a returnTo.
  const here = url.pathname + url.search
  if (safeReturnTo(here) !== here)
    return sendBackUnasked(c, redirectUri, state, {
      error: 'invalid_request',
      description: 'The authorization request is too long (2048 characters at most).',
    })
  const session = await currentSession(c, { strictRevocation: route.strictRevocation })
  if (session.state !== 'active') return c.redirect(loginUrl({ returnTo: here }), 302)
  const outcome = decisionFor(c, route, request.resource, session.record)
  if (outcome !== 'allow') return refusedOrStepUp(c, 302, request, outcome, here)
  log({ event: 'oauth_consent_asked', accessRoute: route.name })
  return consentPage(c, client, request, route, session)
}

/** POST /auth/oauth/authorize: the person's answer on the consent page. */
export async function decideAuthorization(c: AppContext): Promise<Response> {
  if (!isFormPost(c)) throw new GatewayError(415, 'form_required', 'Answer from the consent page.')
  const fields = await c.req.parseBody()
  const session = await currentSession(c, { refresh: false })
  const request =
    session.state === 'active'
      ? await openConsent(c, fields.consent, await sha256(session.sessionId))
      : null
  if (!request || session.state !== 'active') throw staleConsent('sealed_consent_refused')
  const client = await readClient(c, request.clientId)
  if (!client || !redirectUriMatches(client, request.redirectUri)) throw staleConsent('client_gone')
  const { redirectUri, state } = request
  if (fields.decision === 'deny') {
    log({ event: 'oauth_consent_denied' })
    return sendBack(c, 303, redirectUri, state, {
      error: 'access_denied',
      description: 'The person declined.',
    })
  }
  if (fields.decision !== 'approve')
    throw new GatewayError(400, 'invalid_decision', 'Choose Allow or Deny on the consent page.')
  // Decided again: the policy, or the person's standing, may have changed since the page.
  const route = routeForResource(c, request.resource)
  if (!route)
    return sendBack(c, 303, redirectUri, state, {
      error: 'invalid_target',
      description: 'This application no longer takes tokens.',
    })
  const outcome = decisionFor(c, route, request.resource, session.record)
  if (outcome !== 'allow')
    return refusedOrStepUp(c, 303, request, outcome, authorizePathOf(request))
  const code = await issueCode(c, {
    clientId: client.clientId,
    redirectUri,
    resource: request.resource,
    codeChallenge: request.codeChallenge,
    ...(request.scope !== undefined && { scope: request.scope }),
    sessionHandle: await sha256(session.sessionId),
    personKey: await personKeyOf(session.record.email),
  })
  log({ event: 'oauth_consent_approved', accessRoute: route.name })
  // 303 after a form post (RFC 9700 §4.12): the browser follows with a GET, never re-posting.
  return c.redirect(answerUrl(c, redirectUri, { code, state }), 303)
}

/**
 * How the route decides this person's GET of the resource, as the gate would through the proxy:
 * the same principal, and this request's address and country.
 */
export function decisionFor(
  c: AppContext,
  route: CompiledRoute,
  resource: string,
  record: SessionRecord,
): Outcome {
  const target = new URL(resource)
  const country = (c.req.raw.cf as { country?: string } | undefined)?.country
  const facts = requestFacts(
    { host: target.host, path: target.pathname, method: 'GET' },
    clientIp(c),
    country,
  )
  return decide(route, facts, personPrincipal(record)).outcome
}

/**
 * A person the route does not allow: `access_denied` to the client, no consent asked; or, when
 * the route asks for a recent sign-in or a second factor, that step first, then back here.
 */
function refusedOrStepUp(
  c: AppContext,
  status: 302 | 303,
  request: AuthorizationRequest,
  outcome: Exclude<Outcome, 'allow'>,
  /** This authorization request, to come back to. */
  again: string,
): Response {
  if (outcome === 'reauthenticate')
    return c.redirect(`${loginUrl({ returnTo: again })}&reauth=1`, status)
  if (outcome === 'mfa_required')
    return c.redirect(`/auth/mfa?returnTo=${encodeURIComponent(again)}`, status)
  log({ event: 'oauth_authorize_refused', reason: 'access_denied' })
  const refusal: AuthorizationError = {
    error: 'access_denied',
    description: 'This account may not use this application.',
  }
  return status === 302
    ? sendBackUnasked(c, request.redirectUri, request.state, refusal)
    : sendBack(c, status, request.redirectUri, request.state, refusal)
}

async function consentPage(
  c: AppContext,
  client: OAuthClient,
  request: AuthorizationRequest,
  route: CompiledRoute,
  session: Live,
): Promise<Response> {
  const config = c.get('config')
  const redirect = new URL(request.redirectUri)
  // Browsers hold the redirects after a form post to its form-action: the consent form's answer
  // goes on to the client's redirect URI. https: is allowed for every gateway page; a loopback
  // one (a native app, RFC 8252) is added here. An IPv6 literal cannot be written in a CSP
  // source, so [::1] needs http: itself.
  const target =
    redirect.protocol === 'https:'
      ? ''
      : redirect.hostname === '[::1]'
        ? ' http:'
        : ` ${redirect.origin}`
  c.header(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' https:${target}; frame-ancestors 'none'; base-uri 'none'`,
  )
  return c.html(
    ConsentPage({
      productName: config.productName,
      clientName: client.clientName,
      clientId: client.clientId,
      redirectHost: redirect.host,
      application: config.policy.source === 'ACCESS' ? route.name : config.productName,
      resource: request.resource,
      account: session.record.email,
      consent: await sealConsent(c, request, await sha256(session.sessionId)),
    }),
  )
}

/** An error sent to the client's redirect URI, with its state and our issuer. */
function sendBack(
  c: AppContext,
  status: 302 | 303,
  redirectUri: string,
  state: string | undefined,
  { error, description }: AuthorizationError,
): Response {
  log({ event: 'oauth_authorize_error', reason: error })
  return c.redirect(
    answerUrl(c, redirectUri, { error, error_description: description, state }),
    status,
  )
}

/**
 * An error found before the person answered anything. Anyone may register an https: redirect
 * URI, so sending a browser there unasked would make this endpoint an open redirect under the
 * gateway's name (RFC 9700 §4.11.2): the gateway's own page says what went wrong instead. A
 * loopback URI is the person's own machine, which waits for the answer: it gets it.
 */
function sendBackUnasked(
  c: AppContext,
  redirectUri: string,
  state: string | undefined,
  refusal: AuthorizationError,
): Response {
  if (isLoopbackUrl(new URL(redirectUri))) return sendBack(c, 302, redirectUri, state, refusal)
  log({ event: 'oauth_authorize_error', reason: refusal.error, outcome: 'not_redirected' })
  throw new GatewayError(
    refusal.error === 'access_denied' ? 403 : 400,
    refusal.error,
    refusal.description,
  )
}

/**
 * The redirect URI with the answer's parameters appended (its own query kept as registered) and
 * `iss` (RFC 9207).
 */
function answerUrl(
  c: AppContext,
  redirectUri: string,
  params: Record<string, string | undefined>,
): string {
  const answer = new URLSearchParams()
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) answer.set(name, value)
  answer.set('iss', issuerOf(c))
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${answer}`
}

/** A consent form that cannot be answered: expired, altered, or shown to another session. */
function staleConsent(reason: string): GatewayError {
  log({ event: 'oauth_consent_refused', reason })
  return new GatewayError(
    400,
    'consent_expired',
    'This consent page has expired or was not shown to you. Go back to the application and connect again.',
  )
}
