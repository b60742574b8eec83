import type { Context } from 'hono'
import { clearSessionCookie, verifySessionCookie } from './cookie'
import type { SessionRecord } from './record'
import { KvSessionStore, type SessionStore } from './store'

export type CurrentSession =
  | { state: 'absent' }
  | { state: 'invalid_cookie' }
  | { state: 'expired' }
  | { state: 'active'; sessionId: string; record: SessionRecord }

export const sessionStore = (c: Context): SessionStore => new KvSessionStore(c.env.SESSIONS)

/**
 * The request's session: a signature check (no I/O), then at most one KV read. A cookie that
 * fails either step is cleared so the browser stops sending it.
 */
export async function currentSession(c: Context): Promise<CurrentSession> {
  const cookie = await verifySessionCookie(c, c.get('config').sessionSecrets)
  if (cookie.state === 'absent') return cookie
  if (cookie.state === 'invalid') {
    clearSessionCookie(c)
    return { state: 'invalid_cookie' }
  }
  const record = await sessionStore(c).get(cookie.sessionId)
  if (!record) {
    clearSessionCookie(c)
    return { state: 'expired' }
  }
  return { state: 'active', sessionId: cookie.sessionId, record }
}
