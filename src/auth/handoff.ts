import type { Context } from 'hono'
import { requestUrl } from '../context'
import { randomToken, sha256 } from '../crypto'
import { GatewayError } from '../errors'
import {
  clearHandoffNonce,
  handoffNonceHash,
  readHandoffRequest,
  signInOrigin,
} from '../handoff/request'
import { HANDOFF_CODE_SECONDS, saveHandoffCode, takeHandoffCode } from '../handoff/code-store'
import { log } from '../log'
import { currentSession } from '../session/current'
import { startSession } from '../session/start'

const isSignInHost = (c: Context) => {
  const signInHost = c.get('config').signInHost
  return signInHost !== undefined && requestUrl(c).hostname === signInHost
}

/** Where a failed handoff lands: the sign-in host's page, saying so, with no session made. */
const failedHandoff = (c: Context, outcome: string) => {
  log({ event: 'handoff_refused', outcome })
  return c.redirect(
    `${signInOrigin(c, c.get('config').signInHost!)}/auth/login?error=handoff_failed`,
    302,
  )
}

/**
 * GET /auth/handoff/start?h=… — on the sign-in host, for a person signed in there: mints a
 * one-time code for the app host that asked (60 s, single use, bound to that host and to its
 * browser nonce) and sends the browser back with it. Without a session, sign in first.
 */
export async function startHandoff(c: Context) {
  if (!isSignInHost(c)) throw new GatewayError(404, 'not_found', 'There is no such sign-in page.')
  const sealed = c.req.query('h')
  const request = await readHandoffRequest(c, sealed)
  if (!request) {
    log({ event: 'handoff_refused', outcome: 'invalid_request' })
    throw new GatewayError(
      400,
      'invalid_handoff',
      'That application is not one this sign-in serves, or the request has expired. Go back to the application and try again.',
    )
  }
  const session = await currentSession(c, { refresh: false })
  if (session.state !== 'active') {
    const back = `/auth/handoff/start?h=${encodeURIComponent(sealed!)}`
    return c.redirect(`/auth/login?returnTo=${encodeURIComponent(back)}`, 302)
  }
  const code = randomToken(32)
  await saveHandoffCode(c.env.SESSIONS, code, {
    host: request.host,
    nonceHash: request.nonceHash,
    returnTo: request.returnTo,
    parentHandle: await sha256(session.sessionId),
    parent: session.record,
    expiresAt: Date.now() + HANDOFF_CODE_SECONDS * 1000,
  })
  log({ event: 'handoff_code_issued' })
  const scheme = requestUrl(c).protocol
  c.header('Referrer-Policy', 'no-referrer')
  return c.redirect(`${scheme}//${request.host}/auth/handoff?code=${code}`, 302)
}

/**
 * GET /auth/handoff?code=… — on an app host: exchanges the code for a session of this host, in the
 * browser that left for the sign-in host (its nonce cookie), then goes on to the returnTo. A code
 * used twice, late, on another host or in another browser lands on sign-in with no session.
 */
export async function completeHandoff(c: Context) {
  if (!c.get('config').signInHost || isSignInHost(c))
    throw new GatewayError(404, 'not_found', 'There is no such sign-in page.')
  c.header('Referrer-Policy', 'no-referrer')
  const handoff = await takeHandoffCode(c.env.SESSIONS, c.req.query('code') ?? '')
  if (!handoff) return failedHandoff(c, 'unknown_used_or_late')
  if (handoff.host !== requestUrl(c).host) return failedHandoff(c, 'other_host')
  const nonceHash = await handoffNonceHash(c)
  if (nonceHash === null || nonceHash !== handoff.nonceHash)
    return failedHandoff(c, 'other_browser')
  const { parent } = handoff
  if (parent.expiresAt <= Date.now()) return failedHandoff(c, 'session_ended')
  clearHandoffNonce(c)
  await startSession(
    c,
    {
      userId: parent.userId,
      email: parent.email,
      firstName: parent.firstName,
      lastName: parent.lastName,
      method: parent.method,
      ...(parent.organizationId !== undefined && {
        sso: {
          organizationId: parent.organizationId,
          connectionId: parent.connectionId ?? '',
          roles: parent.roles ?? [],
          groups: parent.groups ?? [],
        },
      }),
    },
    { parent, parentHandle: handoff.parentHandle, host: handoff.host },
  )
  log({ event: 'handoff_signed_in' })
  return c.redirect(handoff.returnTo, 302)
}
