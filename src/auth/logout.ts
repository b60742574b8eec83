import type { Context } from 'hono'
import { log } from '../log'
import { isFormPost } from '../negotiate'
import { clearSessionCookie } from '../session/cookie'
import { currentSession, sessionStore } from '../session/current'

/** POST /auth/logout — deletes the session from KV and clears the cookie. */
export async function logout(c: Context) {
  const session = await currentSession(c)
  if (session.state === 'active') {
    await sessionStore(c).delete(session.sessionId)
    log({ event: 'signed_out', sid: session.record.sid })
  }
  clearSessionCookie(c)
  if (isFormPost(c)) return c.redirect('/auth/login?signed_out=1', 303)
  return c.json({ success: true })
}
