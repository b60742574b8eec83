import type { AppContext } from '../app-env'
import { inBackground } from '../background'
import { sha256 } from '../crypto'
import { kvOrFailClosed } from '../kv/fail-closed'
import { log } from '../log'
import { authorityOf, revocationsReady } from '../revocation/authority-client'
import { clearGatewayCookie, readGatewayCookie } from '../cookies/gateway-cookie'
import { GATEWAY_COOKIES } from '../cookies/declarations'
import type { SessionRecord } from './record'
import { KvSessionStore, type SessionStore } from './store'

export type CurrentSession =
  | { state: 'absent' }
  | { state: 'invalid_cookie' }
  | { state: 'expired' }
  | { state: 'active'; sessionId: string; personKey: string; record: SessionRecord }

export function sessionStore(c: AppContext): SessionStore {
  const { sessionCacheSeconds, sessionTtlSeconds } = c.get('config')
  const kv = c.env.SESSIONS
  return new KvSessionStore(kv, sessionCacheSeconds, sessionTtlSeconds, authorityOf(c))
}

/**
 * The request's session: a signature check (no I/O), then one KV round trip (the session, its end
 * marker and its person's revocation time in one bulk read), or none when the in-isolate cache
 * has it. A cookie that fails either
 * step is cleared so the browser stops sending it. A session used after half its idle window is
 * renewed (at most one KV write per half window).
 */
export async function currentSession(
  c: AppContext,
  options: {
    refresh?: boolean
    /**
     * A strict route: the revocation authority is read now rather than within the bound, once
     * KV and this isolate's view call the session live (a request without a live session, a
     * stolen cookie of an ended one among them, costs no read).
     */
    strictRevocation?: boolean
  } = {},
): Promise<CurrentSession> {
  const cookie = await readGatewayCookie(c, GATEWAY_COOKIES.session)
  if (cookie.state === 'absent') return cookie
  if (cookie.state === 'invalid') {
    log({ event: 'refused_tampered_cookie' })
    clearGatewayCookie(c, GATEWAY_COOKIES.session)
    return { state: 'invalid_cookie' }
  }
  // Ends recorded anywhere are known here once the view is at most the bound old: usually it
  // is, and nothing is awaited. A strict route reads the authority itself, below.
  const ready = options.strictRevocation ? undefined : revocationsReady(c)
  if (ready) await ready
  const store = sessionStore(c)
  // A repeat request is answered from the in-isolate cache without arming the KV deadline.
  const cached = store.cached(cookie.sessionId, cookie.personKey)
  let record =
    cached !== undefined
      ? cached
      : await kvOrFailClosed(() => store.get(cookie.sessionId, cookie.personKey))
  if (record && options.strictRevocation && (await endedAnywhere(c, cookie, record))) record = null
  if (!record) {
    log({ event: 'session_ended' })
    clearGatewayCookie(c, GATEWAY_COOKIES.session)
    return { state: 'expired' }
  }
  // A handler about to end the session asks for no refresh: a background write landing after its
  // delete would bring the session back.
  const current =
    options.refresh === false ? record : refreshIfDue(c, store, cookie.sessionId, record)
  return {
    state: 'active',
    sessionId: cookie.sessionId,
    personKey: cookie.personKey,
    record: current,
  }
}

/**
 * A strict route's check: the authority read now (an end recorded anywhere before this request
 * is known), for a session KV and this isolate's view still call live.
 */
async function endedAnywhere(
  c: AppContext,
  cookie: { sessionId: string; personKey: string },
  record: SessionRecord,
): Promise<boolean> {
  const authority = authorityOf(c)
  await authority.readNow()
  return authority.endsSession(await sha256(cookie.sessionId), cookie.personKey, record)
}

function refreshIfDue(
  c: AppContext,
  store: SessionStore,
  sessionId: string,
  record: SessionRecord,
) {
  const idleMs = c.get('config').sessionIdleSeconds * 1000
  const now = Date.now()
  if (now - record.lastSeenAt < idleMs / 2) return record
  const refreshed: SessionRecord = {
    ...record,
    lastSeenAt: now,
    idleExpiresAt: Math.min(now + idleMs, record.expiresAt),
  }
  // The response need not wait for the write.
  inBackground(
    c,
    store.refresh(sessionId, refreshed).catch(() => log({ event: 'session_refresh_failed' })),
  )
  return refreshed
}
