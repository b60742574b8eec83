import type { Context } from 'hono'
import { readFields } from '../body'
import { log } from '../log'
import { isFormPost } from '../negotiate'
import { safeReturnTo } from '../redirect'
import { clearSessionCookie } from '../session/cookie'
import { currentSession, kvOrFailClosed, sessionStore } from '../session/current'
import { revokeAllForPerson } from '../session/revoke'
import { personKeyOf } from '../session/store'

/**
 * POST /auth/logout — deletes the session from KV and clears the cookie. With
 * `{"everywhere": true}` (or the form field everywhere=1), ends every session of the person.
 */
export async function logout(c: Context) {
  const fields = c.req.header('content-type') ? await readFields(c).catch(() => ({})) : {}
  const flag = (fields as Record<string, unknown>).everywhere
  const everywhere = flag === true || flag === '1' || flag === 'true'
  const session = await currentSession(c, { refresh: false })
  // The cookie goes whatever happens next: this browser is signed out even if KV is failing.
  clearSessionCookie(c)
  if (session.state === 'active') {
    const store = sessionStore(c)
    const { email } = session.record
    await kvOrFailClosed(async () => {
      if (everywhere) await revokeAllForPerson(store, await personKeyOf(email))
      await store.delete(session.sessionId)
    })
    log({ event: 'signed_out', sid: session.record.sid, everywhere })
  }
  clearSessionCookie(c)
  if (isFormPost(c)) {
    // "Use another account" (the 403 page) comes back to where the person was going.
    const returnTo = safeReturnTo((fields as Record<string, unknown>).returnTo)
    const back = returnTo === '/' ? '' : `&returnTo=${encodeURIComponent(returnTo)}`
    return c.redirect(`/auth/login?signed_out=1${back}`, 303)
  }
  return c.json({ success: true })
}
