import type { AppContext } from '../app-env'
import type { CompiledRoute, Principal } from '../access/index.ts'
import type { ForwardIdentity } from '../assertion/sign'
import { GatewayError } from '../errors'
import { log } from '../log'
import { perObject } from '../per-object'
import {
  CLIENT_ID_HEADER,
  CLIENT_SECRET_HEADER,
  recordFailedPresentation,
  verifyServiceToken,
} from '../service-tokens/verify'
import { bearerTokenOf, grantForRequest } from '../oauth/bearer'
import { authorityOf } from '../revocation/authority-client'
import { tagOf } from '../revocation/ends'
import { currentSession } from '../session/current'
import { authMethodOf, personOf, type SessionRecord } from '../session/record'
import { KvSessionStore, handleOf } from '../session/store'
import { KvServiceTokenStore, isExpired } from '../service-tokens/store'

/** Why a request has no person: the error code of the sign-in answer. */
export type SignInReason =
  | 'not_signed_in'
  | 'invalid_session_cookie'
  | 'session_expired'
  /** A gateway bearer token that opens nothing here (README "Command lines and AI agents"). */
  | 'invalid_token'

/** Who is asking: a person with a session, a machine with a service token, or nobody (and why). */
export type Caller =
  | {
      principal: Exclude<Principal, null>
      identity: ForwardIdentity
      account: string
      /** Epoch ms: the session's absolute end, or the token's expiry. */
      endsAt: number | undefined
      /** The same caller read again past every cache (null once ended): for long-lived sockets. */
      reread: () => Promise<Exclude<Principal, null> | null>
      /** The ends that end this caller, as the revocation authority pushes them (sockets). */
      endTags: () => Promise<readonly string[]>
      /** A bearer token's client, acting as the person: its refusals are `invalid_token`. */
      bearer?: true
    }
  | { principal: null; reason: SignInReason }

// One principal per session record, as for its identity (personOf).
const INVALID_TOKEN: Caller = Object.freeze({ principal: null, reason: 'invalid_token' })

export const personPrincipal = perObject((record: SessionRecord): Exclude<Principal, null> => ({
  kind: 'person',
  email: record.email,
  userId: record.userId,
  signedInAt: record.createdAt,
  authMethod: authMethodOf(record),
  ...(record.organizationId !== undefined && { organizationId: record.organizationId }),
  ...(record.roles !== undefined && { roles: record.roles }),
  ...(record.groups !== undefined && { groups: record.groups }),
  mfa: record.mfaAt !== undefined,
}))

/**
 * The request's caller. A request presenting a service token is judged by the token alone: a
 * wrong, expired or revoked one is `401 invalid_client_credentials` (never a redirect, never a
 * fall-back to the cookie), and failed presentations are rate limited per client.
 */
export async function callerOf(
  c: AppContext,
  options: { serviceTokens: boolean; strictRevocation?: boolean } = { serviceTokens: true },
  /**
   * The route deciding, and the origin it is reached at: where a bearer token must belong.
   * Without them (forward-auth), a bearer token opens nothing.
   */
  route?: CompiledRoute,
  originOf?: () => string,
): Promise<Caller> {
  const strict = options.strictRevocation === true
  const clientId = c.req.header(CLIENT_ID_HEADER)
  const clientSecret = c.req.header(CLIENT_SECRET_HEADER)
  if (options.serviceTokens && (clientId !== undefined || clientSecret !== undefined)) {
    let token
    try {
      token = await verifyServiceToken(c, clientId ?? '', clientSecret ?? '', strict)
      if (!token) {
        log({ event: 'refused_invalid_client_credentials' })
        await recordFailedPresentation(c)
        throw new GatewayError(
          401,
          'invalid_client_credentials',
          'The service token is not valid: check Gateway-Client-Id and Gateway-Client-Secret, or ask for a new token.',
        )
      }
    } catch (error) {
      // A machine gets JSON, never a page and never a redirect, whatever it says it accepts.
      if (error instanceof GatewayError) error.jsonOnly = true
      throw error
    }
    const principal = { kind: 'service' as const, id: token.id, name: token.name }
    const kv = c.env.SESSIONS
    const revocations = authorityOf(c)
    const boundMs = c.get('config').revocationBoundSeconds * 1000
    return {
      principal,
      identity: principal,
      account: `the service token "${token.name}"`,
      endsAt: token.expiresAt ?? undefined,
      reread: async () => {
        await revocations.refreshIfOlder(boundMs)
        const fresh = await new KvServiceTokenStore(kv, 0, revocations).get(token.id)
        return fresh && !isExpired(fresh.record) ? principal : null
      },
      endTags: async () => [tagOf({ kind: 'token', key: token.id })],
    }
  }
  const bearer = bearerTokenOf(c)
  if (bearer) {
    // Only the proxy can keep a token from the origin: forward-auth's proxy would pass it on.
    if (!route || !originOf) return INVALID_TOKEN
    const grant = await grantForRequest(c, bearer, route, originOf(), strict)
    if (!grant) return INVALID_TOKEN
    return { ...personCaller(c, grant.grantId, grant.personKey, grant.record), bearer: true }
  }
  const session = await currentSession(c, { strictRevocation: strict })
  if (session.state === 'active')
    return personCaller(c, session.sessionId, session.personKey, session.record)
  return {
    principal: null,
    reason:
      session.state === 'absent'
        ? 'not_signed_in'
        : session.state === 'invalid_cookie'
          ? 'invalid_session_cookie'
          : 'session_expired',
  }
}

/**
 * A person's caller from a session or a grant (`sessionId` is the cookie's id or the grant's),
 * with how to read it again past every cache and the ends that end it.
 */
function personCaller(
  c: AppContext,
  sessionId: string,
  personKey: string,
  record: SessionRecord,
): Exclude<Caller, { principal: null }> {
  const config = c.get('config')
  const kv = c.env.SESSIONS
  const revocations = authorityOf(c)
  return {
    principal: personPrincipal(record),
    identity: personOf(record),
    account: record.email,
    endsAt: record.expiresAt,
    reread: async () => {
      await revocations.refreshIfOlder(config.revocationBoundSeconds * 1000)
      const store = new KvSessionStore(kv, 0, config.sessionTtlSeconds, revocations)
      const fresh = await store.get(sessionId, personKey)
      return fresh ? personPrincipal(fresh) : null
    },
    endTags: async () => [
      tagOf({ kind: 'session', key: await handleOf(sessionId) }),
      tagOf({ kind: 'person', key: personKey }),
      ...(record.connectionId === undefined
        ? []
        : [tagOf({ kind: 'connection', key: record.connectionId })]),
      // A host session ends with the sign-in it was handed off from.
      ...(record.parent === undefined ? [] : [tagOf({ kind: 'session', key: record.parent })]),
    ],
  }
}
