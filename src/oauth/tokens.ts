import type { AppContext } from '../app-env'
import { GATEWAY, personActor, sessionTarget } from '../audit/actors'
import { auditEnded } from '../audit/ends'
import { audit } from '../audit/record'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { BoundedMap } from '../bounded-cache'
import { clientIp } from '../context'
import { randomToken } from '../crypto'
import { kvOrFailClosed } from '../kv/fail-closed'
import { oauthTokenKey } from '../kv/keys'
import { parseStored } from '../kv/stored-json'
import { keptUntil } from '../kv/ttl'
import { log } from '../log'
import { revocationsReady } from '../revocation/authority-client'
import { sessionStore } from '../session/current'
import type { SessionRecord } from '../session/record'
import { handleOf, knownHandleOf, personKeyOf } from '../session/store'
import { claimSingleUse, releaseClaim } from './single-use'

// OAuth grants and their tokens (README "Command lines and AI agents"). A grant is a session of
// the person: the session store keeps it (`session:<sha256(grant id)>`, indexed under the
// person), so everything that ends sessions ends grants, and the sessions page lists them. Its
// tokens carry the grant id and the person key in clear, as the session cookie does, so one
// token costs what a session costs: the grant's read (cached per isolate) and the token's own
// record beside it, read together.

/** How long a grant (and so its refresh tokens) lives: 30 days. */
export const GRANT_SECONDS = 30 * 24 * 60 * 60

const ACCESS_PREFIX = 'gwat_'
const REFRESH_PREFIX = 'gwrt_'
const TOKEN_SHAPE = /^(gwat|gwrt)_([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/

/** A grant as the token code works with it: its secret id, person and stored record. */
export interface Grant {
  grantId: string
  personKey: string
  handle: string
  record: SessionRecord
}

export interface TokenAnswer {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token: string
  scope?: string
}

const tokenRecordSchema = z.object({
  v: z.literal(1),
  kind: z.enum(['access', 'refresh']),
  /** The grant's handle: the SHA-256 of its id. */
  grant: z.string(),
  clientId: z.string(),
  resource: z.string(),
  expiresAt: z.number(),
  /** A refresh token already exchanged: presenting it again ends the grant. */
  used: z.optional(z.literal(true)),
})
export type TokenRecord = z.infer<typeof tokenRecordSchema>

/** A gateway token's parts, or undefined for anything else (another `Authorization`). */
export function parseToken(token: string) {
  const match = TOKEN_SHAPE.exec(token)
  if (!match) return undefined
  return {
    kind: match[1] === 'gwat' ? ('access' as const) : ('refresh' as const),
    grantId: match[2]!,
    personKey: match[3]!,
  }
}

/**
 * Whether an Authorization value carries a gateway token anywhere (which never reaches an
 * origin): as `Bearer gwat_…`, but also behind another scheme or a second header the runtime
 * joined with a comma (`Basic …, Bearer gwat_…`), where an origin would still find it.
 */
export const isGatewayBearer = (authorization: string) =>
  /(?:^|[^A-Za-z0-9_-])gw(?:at|rt)_/.test(authorization)

/**
 * A new grant for the person of the browser session that consented: the sign-in's identity and
 * moment (`auth_time`, so maxSignInAge and revocations since apply to its tokens exactly as to
 * the cookie), for one client and one resource, for 30 days.
 */
export async function issueGrant(
  c: AppContext,
  from: { record: SessionRecord },
  client: { clientId: string; clientName: string },
  resource: string,
  scope?: string,
): Promise<Grant> {
  const now = Date.now()
  const { record: signedIn } = from
  const grantId = randomToken(32)
  const expiresAt = now + GRANT_SECONDS * 1000
  const record: SessionRecord = {
    v: 1,
    sid: randomToken(12),
    userId: signedIn.userId,
    email: signedIn.email,
    firstName: signedIn.firstName,
    lastName: signedIn.lastName,
    method: signedIn.method,
    createdAt: signedIn.createdAt,
    expiresAt,
    lastSeenAt: now,
    idleExpiresAt: expiresAt,
    ip: clientIp(c),
    userAgent: client.clientName.slice(0, 256),
    ...(signedIn.organizationId !== undefined && { organizationId: signedIn.organizationId }),
    ...(signedIn.connectionId !== undefined && { connectionId: signedIn.connectionId }),
    ...(signedIn.roles !== undefined && { roles: signedIn.roles }),
    ...(signedIn.groups !== undefined && { groups: signedIn.groups }),
    ...(signedIn.mfaAt !== undefined && { mfaAt: signedIn.mfaAt }),
    oauth: {
      clientId: client.clientId,
      clientName: client.clientName,
      resource,
      ...(scope !== undefined && { scope }),
    },
  }
  const personKey = await personKeyOf(record.email)
  const store = sessionStore(c)
  await kvOrFailClosed(async () => {
    await store.put(grantId, record)
    await store.rememberUserId(record.userId, personKey, record.expiresAt)
  })
  log({ event: 'oauth_grant_issued', clientId: client.clientId, sid: record.sid })
  audit(c, {
    action: 'gateway.oauth_grant.issued',
    actor: personActor(record),
    targets: [
      sessionTarget(record),
      { type: 'oauth_client', id: client.clientId, name: client.clientName },
    ],
    metadata: { session: record.sid, client_id: client.clientId, resource, scope },
    organizationId: record.organizationId,
  })
  return { grantId, personKey, handle: await handleOf(grantId), record }
}

/** A new access token (≤ OAUTH_ACCESS_TOKEN_SECONDS, never past the grant) and refresh token. */
export async function issueTokens(c: AppContext, grant: Grant): Promise<TokenAnswer> {
  const { oauth } = grant.record
  if (!oauth) throw new Error('issueTokens: not a grant')
  const now = Date.now()
  const accessEndsAt = Math.min(
    now + c.get('config').oauthAccessTokenSeconds * 1000,
    grant.record.expiresAt,
  )
  const access = `${ACCESS_PREFIX}${grant.grantId}.${grant.personKey}.${randomToken(32)}`
  const refresh = `${REFRESH_PREFIX}${grant.grantId}.${grant.personKey}.${randomToken(32)}`
  const common = {
    v: 1 as const,
    grant: grant.handle,
    clientId: oauth.clientId,
    resource: oauth.resource,
  }
  const kv = c.env.SESSIONS
  await kvOrFailClosed(async () => {
    await kv.put(
      await oauthTokenKey(access),
      JSON.stringify({ ...common, kind: 'access', expiresAt: accessEndsAt }),
      keptUntil(accessEndsAt),
    )
    await kv.put(
      await oauthTokenKey(refresh),
      JSON.stringify({ ...common, kind: 'refresh', expiresAt: grant.record.expiresAt }),
      keptUntil(grant.record.expiresAt),
    )
  })
  return {
    access_token: access,
    token_type: 'Bearer',
    expires_in: Math.max(1, Math.floor((accessEndsAt - now) / 1000)),
    refresh_token: refresh,
    ...(oauth.scope !== undefined && { scope: oauth.scope }),
  }
}

// Token records read, per isolate, for SESSION_CACHE_SECONDS (as sessions are): a client's burst
// costs one read. A record never changes but for a refresh token's `used`, and refresh tokens are
// never cached.
const cache = new BoundedMap<string, { record: TokenRecord; until: number }>(10_000)

/** A token's record as the isolate cache has it (null: past its end), or undefined (not cached). */
function cachedToken(token: string): TokenRecord | null | undefined {
  const hit = cache.get(token)
  if (!hit || hit.until <= Date.now()) return undefined
  return hit.record.expiresAt > Date.now() ? hit.record : null
}

/** A token's record, or null when it is unknown, malformed or past its end. */
export async function readToken(c: AppContext, token: string): Promise<TokenRecord | null> {
  const cacheSeconds = c.get('config').sessionCacheSeconds
  const hit = cachedToken(token)
  if (hit !== undefined) return hit
  const raw = await c.env.SESSIONS.get(await oauthTokenKey(token), 'text')
  const record = raw === null ? null : parseStored(tokenRecordSchema, raw)
  if (!record || record.expiresAt <= Date.now()) return null
  if (cacheSeconds > 0 && record.kind === 'access')
    cache.set(token, { record, until: Date.now() + cacheSeconds * 1000 })
  return record
}

type TokenParts = NonNullable<ReturnType<typeof parseToken>>
type Opened = { grant: Grant; token: TokenRecord }

/** The grant a token names and the token's record, when the token is its own and both are live. */
async function grantOfToken(c: AppContext, token: string): Promise<Opened | null> {
  const parts = parseToken(token)
  if (!parts) return null
  const [record, grant, handle] = await Promise.all([
    readToken(c, token),
    sessionStore(c).get(parts.grantId, parts.personKey),
    handleOf(parts.grantId),
  ])
  return opened(parts, record, grant, handle)
}

/** The token's checks against its grant: both live, one client, the grant the record names. */
function opened(
  parts: TokenParts,
  record: TokenRecord | null,
  grant: SessionRecord | null,
  handle: string,
): Opened | null {
  if (!record || !grant?.oauth || record.clientId !== grant.oauth.clientId) return null
  if (record.grant !== handle) return null
  const { grantId, personKey } = parts
  return { grant: { grantId, personKey, handle, record: grant }, token: record }
}

/**
 * A refresh: the refresh token is spent and a new pair issued. A refresh token presented a second
 * time (stolen and used by one side) ends the whole grant (OAuth 2.1 §4.3.1).
 */
export async function refreshTokens(
  c: AppContext,
  refreshToken: string,
  clientId: string,
): Promise<TokenAnswer | { error: 'invalid_grant' }> {
  const parts = parseToken(refreshToken)
  if (parts?.kind !== 'refresh') return { error: 'invalid_grant' }
  // An end recorded anywhere is known before a new access token is handed out.
  const ready = revocationsReady(c)
  if (ready) await ready
  const record = await kvOrFailClosed(() => readToken(c, refreshToken))
  if (!record || record.kind !== 'refresh' || record.clientId !== clientId)
    return { error: 'invalid_grant' }
  if (record.used) {
    log({ event: 'oauth_refresh_reused', outcome: 'grant_ended' })
    await endGrant(c, record.grant, parts.personKey, 'refresh_replayed')
    return { error: 'invalid_grant' }
  }
  // Two uses at the same moment both read it unused: the second in this isolate is a reuse.
  if (!claimSingleUse(refreshToken).first) {
    log({ event: 'oauth_refresh_reused', outcome: 'grant_ended' })
    await endGrant(c, record.grant, parts.personKey, 'refresh_replayed')
    return { error: 'invalid_grant' }
  }
  try {
    const opened = await kvOrFailClosed(() => grantOfToken(c, refreshToken))
    if (!opened) return { error: 'invalid_grant' }
    await kvOrFailClosed(async () =>
      c.env.SESSIONS.put(
        await oauthTokenKey(refreshToken),
        JSON.stringify({ ...record, used: true }),
        keptUntil(record.expiresAt),
      ),
    )
    return await issueTokens(c, opened.grant)
  } catch (error) {
    releaseClaim(refreshToken)
    throw error
  }
}

/** RFC 7009: the grant of an access or refresh token ends (and with it all its tokens). */
export async function revokeToken(c: AppContext, token: string, clientId?: string): Promise<void> {
  const parts = parseToken(token)
  if (!parts) return
  const record = await kvOrFailClosed(() => readToken(c, token))
  if (record) {
    if (clientId === undefined || record.clientId === clientId)
      await endGrant(c, record.grant, parts.personKey, 'client_revoked')
    return
  }
  // Past its end (an access token after its hour): it still names its grant, whose id only a
  // holder of one of its tokens knows, and a client revoking it means that grant.
  const grant = await kvOrFailClosed(() => sessionStore(c).get(parts.grantId, parts.personKey))
  if (!grant?.oauth || (clientId !== undefined && grant.oauth.clientId !== clientId)) return
  await endGrant(c, await handleOf(parts.grantId), parts.personKey, 'client_revoked')
}

/** Why the gateway ended a grant outside the sessions page: its client asked, or a replay. */
export type GrantEnd = 'client_revoked' | 'code_replayed' | 'refresh_replayed'

/**
 * Ends a grant as any session ends (recorded by the revocation authority first), and puts it in
 * the audit trail if it was still live: by its client (RFC 7009), or by the gateway on a replay.
 */
export async function endGrant(
  c: AppContext,
  grantHandle: string,
  /** Whose grant it is: to read it for the audit trail (it ends whether or not it is known). */
  personKey: string | undefined,
  why: GrantEnd,
): Promise<void> {
  const store = sessionStore(c)
  const record =
    personKey === undefined
      ? null
      : await kvOrFailClosed(() => store.getByHandle(grantHandle, personKey))
  await kvOrFailClosed(() => store.deleteByHandle(grantHandle))
  log({ event: 'oauth_grant_ended', outcome: why })
  if (record?.oauth)
    auditEnded(
      c,
      record,
      why === 'client_revoked' ? 'client' : 'gateway',
      why === 'client_revoked'
        ? { type: 'oauth_client', id: record.oauth.clientId, name: record.oauth.clientName }
        : GATEWAY,
      { reason: why },
    )
}

/**
 * The grant an access token opens, with the token's record (the bearer check in
 * src/oauth/bearer.ts adds the resource and the route); null for anything else.
 */
export async function grantOfAccessToken(c: AppContext, token: string): Promise<Opened | null> {
  return parseToken(token)?.kind === 'access' ? grantOfToken(c, token) : null
}

/**
 * The same answer from this isolate's caches alone (the token's record, its grant and the grant's
 * handle), with every check made as above; undefined when any of them is not cached (then
 * grantOfAccessToken reads KV). A client's repeat request arms no KV deadline and hashes nothing,
 * as a cached session does.
 */
export function cachedGrantOfAccessToken(c: AppContext, token: string): Opened | null | undefined {
  const parts = parseToken(token)
  if (parts?.kind !== 'access') return null
  const record = cachedToken(token)
  const handle = knownHandleOf(parts.grantId)
  if (record === undefined || handle === undefined) return undefined
  const grant = sessionStore(c).cached(parts.grantId, parts.personKey)
  if (grant === undefined) return undefined
  return opened(parts, record, grant, handle)
}
