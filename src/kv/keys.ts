import { sha256 } from '../crypto'

// Every key the gateway writes to its KV namespace (`SESSIONS`) is built here and only here,
// grouped by the module that uses them; STORAGE.md says what each value holds, its TTL and what is
// hashed. The strings are the deployed layout: changing one orphans every value stored under it
// (test/kv-keys.test.ts pins them).
//
// Keys that join a secret are built from its SHA-256 (base64url: letters, digits, '_' and '-'),
// so a KV dump opens nothing, and the key functions below do the hashing.

// A segment that ends a prefix the gateway lists (`person:<person key>:`, `connection:<id>:`)
// must not contain ':': `person:a:` would list `person:a:b:…`, another person's entries. Such a
// segment is refused here; the session store checks connection ids before indexing (isListable).
const LISTABLE_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/

/** True when `segment` can end a listed prefix (WorkOS ids and SHA-256 hashes can). */
export const isListable = (segment: string) => LISTABLE_SEGMENT.test(segment)

function listable(segment: string): string {
  if (!isListable(segment)) throw new Error('A KV key segment that is listed must be [A-Za-z0-9_-]')
  return segment
}

// Sessions (session/store.ts). `handle` is the SHA-256 of the cookie's session id, `personKey`
// the SHA-256 of the lowercased email (personKeyOf).

export const sessionKey = (handle: string) => `session:${handle}`
// Left by every deletion and kept as long as any session can live: a write that read the session
// before it ended (a sliding refresh in the background, a webhook's rename, a stale KV copy
// elsewhere) may land after the delete and put the value back, but never makes it live again.
export const endedKey = (handle: string) => `ended:${handle}`
// A person's "revoked before" time (epoch ms): every session of theirs made until then is over.
// Listing the person's index (below) finds only what KV's list has caught up with; this does not.
export const revokedKey = (personKey: string) => `revoked:${personKey}`
export const personIndexPrefix = (personKey: string) => `person:${listable(personKey)}:`
export const personIndexKey = (personKey: string, handle: string) =>
  `${personIndexPrefix(personKey)}${handle}`
// SSO sessions are also indexed under their connection, so a connection's end finds them.
export const connectionIndexPrefix = (connectionId: string) =>
  `connection:${listable(connectionId)}:`
export const connectionIndexKey = (connectionId: string, handle: string) =>
  `${connectionIndexPrefix(connectionId)}${handle}`
// One per ended connection (epoch ms), kept as long as any session can live: the durable record
// the fixed-name key below is rebuilt from. Listed whole: the id is everything after the prefix,
// so no id reaches another's entry.
export const CONNECTION_ENDED_PREFIX = 'connection-ended:'
export const connectionEndedKey = (connectionId: string) =>
  `${CONNECTION_ENDED_PREFIX}${connectionId}`
/**
 * Every SSO connection ended within a session lifetime, `{"conn_…": epoch ms}`, under one fixed
 * name. The session read must stay one round trip, and a key can join that bulk read only if its
 * name is known before the read: the connection id is inside the record, so a per-connection
 * marker cannot be, and a per-person marker can only be written for people a listing shows (a
 * person whose only session through the connection was made elsewhere a moment ago is nowhere
 * the webhook can see). This key's name is fixed, so it joins the read and ends such sessions.
 * Connection ends are rare (an organization leaving, an IdP replaced), so it stays small.
 */
export const CONNECTIONS_ENDED_KEY = 'connections-ended'
export const userKey = (userId: string) => `user:${userId}`

/** Wrong code guesses (abuse/guess-limit.ts) at an address, or `mfa:<address>` for TOTP codes. */
export const guessesKey = async (subject: string) =>
  `guesses:${await sha256(subject.toLowerCase())}`

/** A WorkOS event applied, so a replay of it is refused (webhooks/workos.ts). */
export const webhookReplayKey = async (eventId: string) => `webhook:${await sha256(eventId)}`

/** The newest event applied about a subject (webhooks/event-order.ts names the subject). */
export const eventAppliedKey = async (subject: string) => `event-applied:${await sha256(subject)}`

/** A pending Magic Link (sign-in/pending-link.ts), by the emailed token. */
export const magicLinkKey = async (token: string) => `magic:${await sha256(token)}`

// Service tokens (service-tokens/store.ts), by their id (`svc_…`, not secret). Listed whole.
export const SERVICE_TOKEN_PREFIX = 'service-token:'
export const serviceTokenKey = (id: string) => `${SERVICE_TOKEN_PREFIX}${id}`
export const serviceTokenUsedKey = (id: string) => `service-token-used:${id}`

/** Which organization signs a domain's people in with SSO (sso/domain-lookup.ts). */
export const ssoDomainKey = (domain: string) => `sso-domain:${domain}`

/** An organization's verified domains (sso/organization-domains.ts). */
export const ssoOrganizationDomainsKey = (organizationId: string) =>
  `sso-org-domains:${organizationId}`

// Second factors (mfa/factor-store.ts).
export const mfaFactorKey = (personKey: string) => `mfa-factor:${personKey}`
export const mfaUsedCodeKey = async (personKey: string, code: string) =>
  `mfa-used:${await sha256(`${personKey}:${code}`)}`

/** A one-time handoff code (handoff/code-store.ts). */
export const handoffCodeKey = async (code: string) => `handoff:${await sha256(code)}`

// OAuth (src/oauth/): access and refresh tokens by the SHA-256 of the whole token; the grant
// they belong to is a session (`session:` above).
export const oauthTokenKey = async (token: string) => `oauth-token:${await sha256(token)}`
/** A one-time authorization code (oauth/codes.ts), by the SHA-256 of the code. */
export const oauthCodeKey = async (code: string) => `oauth-code:${await sha256(code)}`

/** A registered OAuth client (oauth/clients.ts), by its client id (`gwc_…`, not secret). */
export const oauthClientKey = (clientId: string) => `oauth-client:${clientId}`

// The device grant (oauth/device-requests.ts, RFC 8628). A request is kept under its handle, the
// SHA-256 of the device code (which only the device holds); the user code a person types points at
// that handle, and is itself stored only as its SHA-256. How often the device polls is kept apart
// from the request, so a poll's write can never undo the person's answer written meanwhile.
export const oauthDeviceKey = (deviceHandle: string) => `oauth-device:${deviceHandle}`
export const oauthDevicePollKey = (deviceHandle: string) => `oauth-device-poll:${deviceHandle}`
export const oauthUserCodeKey = async (userCode: string) =>
  `oauth-user-code:${await sha256(userCode)}`

// A session's first access to a route, already audited (src/audit/access.ts). The route name is
// ACCESS's own; the handle is the session's non-secret one.
export const auditSeenKey = (routeName: string, handle: string) =>
  `audit-seen:${routeName}:${handle}`
