import type { AppContext } from '../app-env'
import { personActor } from '../audit/actors'
import { auditEnded } from '../audit/ends'
import { GatewayError } from '../errors'
import { log } from '../log'
import { isFormPost, wantsHtml } from '../negotiate'
import { SessionsPage, type SessionView } from '../pages/sessions'
import { sha256 } from '../crypto'
import { currentSession, sessionStore } from '../session/current'
import { clearGatewayCookie } from '../cookies/gateway-cookie'
import { GATEWAY_COOKIES } from '../cookies/declarations'
import { personKeyOf } from '../session/store'

/** A short, readable name for a browser from its user agent. */
function deviceOf(userAgent: string): string {
  if (!userAgent) return 'Unknown device'
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /Chrome\//.test(userAgent)
      ? 'Chrome'
      : /Firefox\//.test(userAgent)
        ? 'Firefox'
        : /Safari\//.test(userAgent)
          ? 'Safari'
          : userAgent.split(/[\s/]/)[0] || 'Browser'
  const system = /Android/.test(userAgent)
    ? 'Android'
    : /iPhone|iPad/.test(userAgent)
      ? 'iOS'
      : /Mac OS X/.test(userAgent)
        ? 'macOS'
        : /Windows/.test(userAgent)
          ? 'Windows'
          : /Linux/.test(userAgent)
            ? 'Linux'
            : ''
  return system ? `${browser} on ${system}` : browser
}

const notSignedIn = (c: AppContext) =>
  c.json({ error: 'not_signed_in', message: 'Sign in to continue.' }, 401)

/** GET /auth/sessions — the person's sessions, as a page or JSON. */
export async function listSessions(c: AppContext) {
  const session = await currentSession(c)
  if (session.state !== 'active') {
    if (wantsHtml(c)) return c.redirect('/auth/login?returnTo=%2Fauth%2Fsessions', 302)
    return notSignedIn(c)
  }
  const currentHandle = await sha256(session.sessionId)
  const stored = await sessionStore(c).listForPerson(await personKeyOf(session.record.email))
  const sessions: SessionView[] = stored.map(({ handle, record }) => ({
    sid: record.sid,
    current: handle === currentHandle,
    createdAt: new Date(record.createdAt).toISOString(),
    lastSeenAt: new Date(record.lastSeenAt).toISOString(),
    ip: record.ip,
    userAgent: record.userAgent,
    // A grant is named by its client, as the client calls itself.
    device: record.oauth ? record.oauth.clientName : deviceOf(record.userAgent),
    host: record.host ?? null,
    client: record.oauth
      ? {
          id: record.oauth.clientId,
          name: record.oauth.clientName,
          resource: record.oauth.resource,
        }
      : null,
  }))
  if (wantsHtml(c)) {
    return c.html(
      SessionsPage({
        productName: c.get('config').productName,
        email: session.record.email,
        sessions,
      }),
    )
  }
  // A browser session's entry keeps its shape; only a grant names its client.
  return c.json({
    sessions: sessions.map(({ device: _device, client, ...rest }) =>
      client ? { ...rest, client } : rest,
    ),
  })
}

/** POST /auth/sessions/:sid/revoke — ends one of the person's own sessions. */
export async function revokeSession(c: AppContext) {
  const session = await currentSession(c, { refresh: false })
  if (session.state !== 'active') {
    if (isFormPost(c)) return c.redirect('/auth/login?returnTo=%2Fauth%2Fsessions', 303)
    return notSignedIn(c)
  }
  const sid = c.req.param('sid')
  const store = sessionStore(c)
  const target = (await store.listForPerson(await personKeyOf(session.record.email))).find(
    (s) => s.record.sid === sid,
  )
  if (!target)
    return c.json({ error: 'session_not_found', message: 'There is no such session.' }, 404)
  await store.deleteByHandle(target.handle)
  log({ event: 'session_revoked', sid })
  auditEnded(c, target.record, 'person', personActor(session.record))
  const wasCurrent = target.handle === (await sha256(session.sessionId))
  if (wasCurrent) clearGatewayCookie(c, GATEWAY_COOKIES.session)
  if (isFormPost(c))
    return c.redirect(wasCurrent ? '/auth/login?signed_out=1' : '/auth/sessions', 303)
  return c.json({ success: true })
}
