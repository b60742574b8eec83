import type { AppContext } from '../app-env'
import { clientKey } from '../abuse/client-key'
import { allowed } from '../abuse/rate-limit'
import { inBackground } from '../background'
import { BoundedMap } from '../bounded-cache'
import { fromBase64url } from '../crypto'
import { GatewayError } from '../errors'
import { kvOrFailClosed } from '../kv/fail-closed'
import { log } from '../log'
import {
  idOfClientId,
  isExpired,
  KvServiceTokenStore,
  type ServiceTokenStore,
  type StoredServiceToken,
} from './store'
import { authorityOf, revocationsReady } from '../revocation/authority-client'

/** The headers a machine presents its token in (README "Service tokens"); neither may reach the origin. */
export const CLIENT_ID_HEADER = 'Gateway-Client-Id'
export const CLIENT_SECRET_HEADER = 'Gateway-Client-Secret'

/** This request's service token store: KV, with the in-isolate cache SESSION_CACHE_SECONDS. */
export function serviceTokenStore(c: AppContext): ServiceTokenStore {
  const { sessionCacheSeconds } = c.get('config')
  return new KvServiceTokenStore(c.env.SESSIONS, sessionCacheSeconds, authorityOf(c))
}

export interface VerifiedServiceToken {
  id: string
  name: string
  /** Epoch ms, or null for a token that does not expire. */
  expiresAt: number | null
}

// 32 random bytes, base64url without padding.
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/

/**
 * The service token a client id and secret open, or null. Garbage costs no KV read; a
 * well-shaped client id costs one (or none, from the in-isolate cache). The secret's SHA-256 is
 * compared in constant time with the stored one. KV that fails or hangs refuses with 503; a
 * client over the failed-presentation limit is refused with 429 before anything is read.
 */
export async function verifyServiceToken(
  c: AppContext,
  clientId: string,
  clientSecret: string,
  /** A strict route: the revocation authority is read now, once the token is proven. */
  strictRevocation = false,
): Promise<VerifiedServiceToken | null> {
  refuseIfThrottled(c)
  const id = idOfClientId(clientId)
  const secret = SECRET_PATTERN.test(clientSecret) ? fromBase64url(clientSecret) : null
  if (!id || secret?.length !== 32) return refused('malformed')
  const ready = revocationsReady(c)
  if (ready) await ready
  const store = serviceTokenStore(c)
  const token = await kvOrFailClosed(() => store.get(id))
  if (!token) return refused('unknown', id)
  if (!(await secretMatches(clientSecret, token.record.secretHash)))
    return refused('wrong_secret', id)
  if (isExpired(token.record)) return refused('expired', id)
  if (strictRevocation) {
    // Only a proven token costs a read: nobody can make the gateway ask the authority for free.
    const authority = authorityOf(c)
    await authority.readNow()
    if (authority.endsToken(id)) return refused('revoked', id)
  }
  noteUse(c, token)
  log({ serviceTokenId: id })
  return { id, name: token.record.name, expiresAt: token.record.expiresAt }
}

const encoder = new TextEncoder()

async function secretMatches(secret: string, storedHash: string): Promise<boolean> {
  const expected = fromBase64url(storedHash)
  const presented = await crypto.subtle.digest('SHA-256', encoder.encode(secret))
  // Both are SHA-256 digests, so the lengths match for any stored value that parses.
  return expected?.length === 32 && crypto.subtle.timingSafeEqual(presented, expected)
}

function refused(reason: string, tokenId?: string): null {
  log({ event: 'service_token_refused', reason, ...(tokenId && { tokenId }) })
  return null
}

// Last use is a note for operators, not a security control: written at most once per window per
// token (not per request), in the background, and never into the record itself.
export const LAST_USED_WINDOW_MS = 5 * 60 * 1000
const MAX_NOTED = 10_000
// When this isolate last wrote a use, so requests answered from the cache (or sent before the
// background write is readable) do not each write again.
const notedAt = new BoundedMap<string, number>(MAX_NOTED)

function noteUse(c: AppContext, { record, lastUsedAt }: StoredServiceToken) {
  const now = Date.now()
  const last = Math.max(lastUsedAt ?? 0, notedAt.get(record.id) ?? 0)
  if (now - last < LAST_USED_WINDOW_MS) return
  notedAt.set(record.id, now)
  // The response need not wait for the write.
  inBackground(
    c,
    serviceTokenStore(c)
      .touch(record.id, now, record.expiresAt)
      .catch(() => log({ event: 'service_token_touch_failed', tokenId: record.id })),
  )
}

// Failed presentations share the code-guess limiter (VERIFY_LIMIT_IP, 10 per 10 s per client)
// under their own keys, so code guesses and token guesses do not eat each other's budget.
const RETRY_AFTER_SECONDS = 10
const limitKey = (c: AppContext) => `token:${clientKey(c)}`

// Clients the limiter refused, until its window has passed. The binding can only count, not
// check without counting, so this is what keeps a refused client's next guesses from costing a
// KV read each. Per isolate; the binding remains the limit across isolates.
const throttledUntil = new BoundedMap<string, number>(MAX_NOTED)

function tooManyAttempts(): GatewayError {
  return new GatewayError(
    429,
    'too_many_attempts',
    `Too many service token presentations failed. Please wait ${RETRY_AFTER_SECONDS} seconds and try again.`,
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  )
}

function refuseIfThrottled(c: AppContext) {
  const key = limitKey(c)
  const until = throttledUntil.get(key)
  if (until === undefined) return
  if (until > Date.now()) throw tooManyAttempts()
  throttledUntil.delete(key)
}

/**
 * Counts a failed presentation (unknown, wrong, malformed, expired or half-sent credentials)
 * against the client (IPv4 address or IPv6 /64). Over the limit: 429 `too_many_attempts` with
 * Retry-After. A limiter that cannot answer fails closed (503).
 */
export async function recordFailedPresentation(c: AppContext): Promise<void> {
  const key = limitKey(c)
  // The same limiter (and its fail-closed 503) as code guesses, under a key of its own.
  if (await allowed(c, 'VERIFY_LIMIT_IP', key)) return
  throttledUntil.set(key, Date.now() + RETRY_AFTER_SECONDS * 1000)
  log({ event: 'rate_limited', limiter: 'VERIFY_LIMIT_IP' })
  throw tooManyAttempts()
}
