import type { AppContext } from '../app-env'
import { clientIp } from '../context'
import { randomToken } from '../crypto'
import { setGatewayCookie } from '../cookies/gateway-cookie'
import { GATEWAY_COOKIES } from '../cookies/declarations'
import { kvOrFailClosed } from '../kv/fail-closed'
import { sessionStore } from './current'
import type { SessionRecord } from './record'
import { personKeyOf } from './store'

export interface SignedInIdentity {
  userId: string
  email: string
  firstName: string | null
  lastName: string | null
  method: SessionRecord['method']
  /** SSO only. */
  sso?: { organizationId: string; connectionId: string; roles: string[]; groups: string[] }
}

/**
 * Makes a new session for a person who just proved their address and sets its cookie. The id is
 * always fresh (never one the browser brought), so a planted cookie cannot be fixed in place.
 */
export async function startSession(
  c: AppContext,
  identity: SignedInIdentity,
  /**
   * A host session handed over from a sign-in session: it keeps that sign-in's moment (its
   * `auth_time`, and so maxSignInAge and revocations made since) and never outlives it.
   */
  handedOver?: { parent: SessionRecord; parentHandle: string; host: string },
): Promise<SessionRecord> {
  const config = c.get('config')
  const now = Date.now()
  const sessionId = randomToken(32)
  const record: SessionRecord = {
    v: 1,
    sid: randomToken(12),
    userId: identity.userId,
    email: identity.email.toLowerCase(),
    firstName: identity.firstName,
    lastName: identity.lastName,
    method: identity.method,
    createdAt: handedOver?.parent.createdAt ?? now,
    expiresAt: Math.min(
      now + config.sessionTtlSeconds * 1000,
      handedOver?.parent.expiresAt ?? Number.POSITIVE_INFINITY,
    ),
    lastSeenAt: now,
    idleExpiresAt: Math.min(
      now + config.sessionIdleSeconds * 1000,
      handedOver?.parent.expiresAt ?? Number.POSITIVE_INFINITY,
    ),
    ip: clientIp(c),
    userAgent: (c.req.header('user-agent') ?? '').slice(0, 256),
    ...(handedOver && {
      host: handedOver.host,
      parent: handedOver.parentHandle,
      ...(handedOver.parent.mfaAt !== undefined && { mfaAt: handedOver.parent.mfaAt }),
    }),
    ...(identity.sso && {
      organizationId: identity.sso.organizationId,
      connectionId: identity.sso.connectionId,
      roles: identity.sso.roles,
      groups: identity.sso.groups,
    }),
  }
  const store = sessionStore(c)
  const personKey = await personKeyOf(record.email)
  // No cookie is set unless the session was stored: a failed write leaves no half-made session.
  await kvOrFailClosed(async () => {
    await store.put(sessionId, record)
    await store.rememberUserId(record.userId, personKey, record.expiresAt)
  })
  await setGatewayCookie(c, GATEWAY_COOKIES.session, { sessionId, personKey })
  return record
}
