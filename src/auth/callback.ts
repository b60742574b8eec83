import type { Context } from 'hono'
import { log } from '../log'
import { currentSession, sessionStore } from '../session/current'
import { startSession } from '../session/start'
import { classifyWorkosError, describeWorkosError, withDeadline, workosClient } from '../workos'
import { loginUrl } from './login'
import { verifyState } from './state'

const MAX_CODE_LENGTH = 512

/**
 * GET /auth/callback — where WorkOS sends the person after they open the link. The code is an SSO
 * code: it is exchanged with `sso.getProfileAndToken`, with the client id passed explicitly (the
 * SDK does not fall back to the constructor's for this call).
 */
export async function handleCallback(c: Context) {
  const config = c.get('config')
  const state = await verifyState(config.sessionSecrets, c.req.query('state'))
  const returnTo = state?.returnTo ?? '/'

  // WorkOS redirects an expired or already-used link with error=access_denied.
  if (c.req.query('error') !== undefined) {
    log({ event: 'callback_refused', outcome: 'link_expired' })
    return c.redirect(loginUrl({ error: 'expired', returnTo }), 302)
  }
  const code = c.req.query('code')
  if (!code || code.length > MAX_CODE_LENGTH || !state) {
    // No code, or a state we did not sign: do not spend the code on a flow we did not start.
    log({ event: 'callback_refused', outcome: state ? 'missing_code' : 'invalid_state' })
    return c.redirect(loginUrl({ error: 'auth_failed', returnTo }), 302)
  }

  let profile
  try {
    ;({ profile } = await withDeadline(
      workosClient(config).sso.getProfileAndToken({ code, clientId: config.workosClientId }),
    ))
  } catch (error) {
    const failure = classifyWorkosError(error)
    log({ event: 'callback_failed', outcome: failure.kind, ...describeWorkosError(error) })
    const reason = failure.kind === 'invalid_grant' ? 'expired' : 'auth_failed'
    return c.redirect(loginUrl({ error: reason, returnTo }), 302)
  }

  // A browser that signs in again drops its previous session rather than leaving it alive.
  const previous = await currentSession(c)
  if (previous.state === 'active') await sessionStore(c).delete(previous.sessionId)

  const record = await startSession(c, {
    userId: profile.id,
    email: profile.email,
    firstName: profile.firstName ?? null,
    lastName: profile.lastName ?? null,
    method: 'magic_link',
  })
  log({ event: 'signed_in', method: 'magic_link', sid: record.sid })
  return c.redirect(returnTo, 302)
}
