import type { AppContext } from '../app-env'
import { normaliseHost } from '../access/paths.ts'
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
import { readFields } from '../body'
import { isFormPost } from '../negotiate'
import { HANDOFF_SUBMIT_SCRIPT_HASH, HandoffPage } from '../pages/handoff'
import { kvOrFailClosed } from '../kv/fail-closed'
import { currentSession, sessionStore } from '../session/current'
import { startSession } from '../session/start'

const isSignInHost = (c: AppContext) => {
  const signInHost = c.get('config').signInHost
  return signInHost !== undefined && normaliseHost(requestUrl(c).hostname) === signInHost
}

/** Where a failed handoff lands: the sign-in host's page, saying so, with no session made. */
const failedHandoff = (c: AppContext, outcome: string) => {
  log({ event: 'handoff_refused', outcome })
  return c.redirect(
    `${signInOrigin(c, c.get('config').signInHost!)}/auth/login?error=handoff_failed`,
    302,
  )
}

/**
 * GET /auth/handoff/start?h=… — on the sign-in host, for a person signed in there: mints a
 * one-time code for the app host that asked (60 s, single use, bound to that host and to its
 * browser nonce) and sends the browser back with it, in a form post. Without a session, sign in
 * first.
 */
export async function startHandoff(c: AppContext) {
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
  // The code travels in a form post, never in a URL (history, logs, an origin's service worker
  // watching navigations), and only a page of the sign-in host can make that post (below).
  // The app host on the scheme and port this sign-in host was reached by (how people reach the
  // gateway), never a port the sealed request could name: another port of that host may be
  // someone else's server.
  const here = requestUrl(c)
  const action = `${here.protocol}//${request.host}${here.port ? `:${here.port}` : ''}/auth/handoff`
  c.header('Referrer-Policy', 'strict-origin')
  c.header(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'self'; script-src '${HANDOFF_SUBMIT_SCRIPT_HASH}'; form-action ${new URL(action).origin}; frame-ancestors 'none'; base-uri 'none'`,
  )
  return c.html(HandoffPage({ productName: c.get('config').productName, action, code }))
}

/**
 * POST /auth/handoff — on an app host: exchanges the code for a session of this host, in the
 * browser that left for the sign-in host (its nonce cookie), then goes on to the returnTo. A code
 * used twice, late, on another host or in another browser lands on sign-in with no session.
 *
 * Only a form posted by a sign-in host page counts (its Origin, which browsers set and scripts
 * cannot): a link or a page elsewhere that carries an attacker's code to the victim's browser
 * (with the attacker's nonce planted by script on this host) signs nobody in as anybody.
 */
export async function completeHandoff(c: AppContext) {
  const config = c.get('config')
  if (!config.signInHost || isSignInHost(c))
    throw new GatewayError(404, 'not_found', 'There is no such sign-in page.')
  c.header('Referrer-Policy', 'no-referrer')
  if (c.req.header('origin') !== signInOrigin(c, config.signInHost))
    return failedHandoff(c, 'not_from_sign_in_host')
  const fields = isFormPost(c) ? await readFields(c) : {}
  const code = typeof fields.code === 'string' ? fields.code : ''
  const handoff = await takeHandoffCode(c.env.SESSIONS, code)
  if (!handoff) return failedHandoff(c, 'unknown_used_or_late')
  if (handoff.host !== normaliseHost(requestUrl(c).host)) return failedHandoff(c, 'other_host')
  const nonceHash = await handoffNonceHash(c)
  if (nonceHash === null || nonceHash !== handoff.nonceHash)
    return failedHandoff(c, 'other_browser')
  const { parent } = handoff
  if (parent.expiresAt <= Date.now()) return failedHandoff(c, 'session_ended')
  clearHandoffNonce(c)
  // A handoff that replaces this host's session (a fresh sign-in, a second factor passed on the
  // sign-in host) ends the one it replaces: it must not linger, signed in, behind the new one.
  const replaced = await currentSession(c, { refresh: false })
  if (replaced.state === 'active')
    await kvOrFailClosed(() => sessionStore(c).delete(replaced.sessionId))
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
  // 303: the post's answer becomes a GET of the returnTo on this host.
  return c.redirect(handoff.returnTo, 303)
}
