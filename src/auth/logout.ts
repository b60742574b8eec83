import type { AppContext } from '../app-env'
import { personActor, sessionTarget } from '../audit/actors'
import { audit } from '../audit/record'
import { readFields } from '../body'
import { isScriptRequest, refuseScript } from './pages-only'
import { GatewayError } from '../errors'
import { onSignInHost } from '../handoff/host-roles'
import { signInOrigin } from '../handoff/request'
import { log } from '../log'
import { isFormPost } from '../negotiate'
import { safeReturnTo } from '../redirect'
import { clearGatewayCookie } from '../cookies/gateway-cookie'
import { GATEWAY_COOKIES } from '../cookies/declarations'
import { kvOrFailClosed } from '../kv/fail-closed'
import { currentSession, sessionStore } from '../session/current'
import { revokeAllForPerson } from '../session/revoke'
import { sha256 } from '../crypto'
import type { SessionRecord } from '../session/record'
import { personKeyOf, type SessionStore } from '../session/store'

/**
 * POST /auth/logout — deletes the session from KV and clears the cookie. With
 * `{"everywhere": true}` (or the form field everywhere=1), ends every session of the person.
 * With SIGN_IN_HOST, "sign out" on any host ends this browser's sign-in on every host (below).
 */
export async function logout(c: AppContext) {
  const fields = c.req.header('content-type') ? await readFields(c).catch(() => ({})) : {}
  const flag = (fields as Record<string, unknown>).everywhere
  const everywhere = flag === true || flag === '1' || flag === 'true'
  // Ending every session on every device is the person's act, never a page script's; with
  // SIGN_IN_HOST it happens on the sign-in host, where no origin's page can submit it.
  if (everywhere && isScriptRequest(c)) refuseScript()
  if (everywhere && c.get('config').signInHost && !onSignInHost(c)) refuseEverywhereHere(c)
  const session = await currentSession(c, { refresh: false })
  // The cookie goes whatever happens next: this browser is signed out even if KV is failing.
  clearGatewayCookie(c, GATEWAY_COOKIES.session)
  if (session.state === 'active') {
    const store = sessionStore(c)
    const { email } = session.record
    await kvOrFailClosed(async () => {
      if (everywhere) await revokeAllForPerson(store, await personKeyOf(email))
      else if (c.get('config').signInHost) await endThisBrowsersSignIn(store, session)
      await store.delete(session.sessionId)
    })
    log({ event: 'signed_out', sid: session.record.sid, everywhere })
    audit(c, {
      action: 'gateway.sign_out.succeeded',
      actor: personActor(session.record),
      targets: [sessionTarget(session.record)],
      metadata: { session: session.record.sid, everywhere },
      organizationId: session.record.organizationId,
    })
  }
  clearGatewayCookie(c, GATEWAY_COOKIES.session)
  if (isFormPost(c)) {
    // "Use another account" (the 403 page) comes back to where the person was going.
    const returnTo = safeReturnTo((fields as Record<string, unknown>).returnTo)
    const back = returnTo === '/' ? '' : `&returnTo=${encodeURIComponent(returnTo)}`
    return c.redirect(`/auth/login?signed_out=1${back}`, 303)
  }
  return c.json({ success: true })
}

/**
 * With SIGN_IN_HOST, a host session is one of several made from one sign-in. Signing out of one
 * host alone would leave the sign-in host's session, which hands a new one back at the next visit
 * without a word: on a shared device the person would still be signed in. So sign-out ends the
 * sign-in and every host session made from it (this browser's, not the person's other devices:
 * that is "everywhere").
 */
async function endThisBrowsersSignIn(
  store: SessionStore,
  session: { sessionId: string; personKey: string; record: SessionRecord },
) {
  // A host session names its sign-in; the sign-in session is its own.
  const signIn = session.record.parent ?? (await sha256(session.sessionId))
  if (session.record.parent) await store.deleteByHandle(signIn)
  for (const { handle, record } of await store.listForPerson(session.personKey))
    if (record.parent === signIn) await store.deleteByHandle(handle)
}

function refuseEverywhereHere(c: AppContext): never {
  log({ event: 'refused_everywhere_on_app_host' })
  const sessions = `${signInOrigin(c, c.get('config').signInHost!)}/auth/sessions`
  throw new GatewayError(
    403,
    'sign_in_elsewhere',
    `Sign out everywhere from ${sessions}: an application's page cannot do it for you.`,
  )
}
