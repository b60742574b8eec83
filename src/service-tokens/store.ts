import * as z from 'zod/mini'
import { BoundedMap } from '../bounded-cache'
import { randomToken, sha256 } from '../crypto'
import { SERVICE_TOKEN_PREFIX, serviceTokenKey, serviceTokenUsedKey } from '../kv/keys'
import { listNames } from '../kv/list'
import { parseStored } from '../kv/stored-json'
import { keptUntil } from '../kv/ttl'
import { log } from '../log'
import { perObject } from '../per-object'
import { KV_ONLY, type Revocations } from '../revocation/revocations'

/**
 * A service token as stored. The client secret is never stored: only its SHA-256 (base64url), so
 * a KV dump opens nothing. Times are epoch milliseconds, as in session records.
 */
export interface ServiceTokenRecord {
  v: 1
  id: string
  name: string
  secretHash: string
  createdAt: number
  expiresAt: number | null
}

export interface StoredServiceToken {
  record: ServiceTokenRecord
  /** Epoch ms of the last use written (at most once per window, so up to that window late). */
  lastUsedAt: number | null
}

export interface NewServiceToken {
  record: ServiceTokenRecord
  /** Shown to the operator once and never again. */
  clientSecret: string
}

/**
 * Where service tokens live. Nothing but `create` writes a token's record, so no late write (a
 * last-use note in the background) can bring a revoked token back.
 */
export interface ServiceTokenStore {
  create(input: { name: string; expiresInSeconds?: number }): Promise<NewServiceToken>
  /** The token and its last use in one round trip; null when unknown, revoked or unreadable. */
  get(id: string): Promise<StoredServiceToken | null>
  /** Every token not yet expired, oldest first: for the admin API only (a list and reads). */
  list(now?: number): Promise<StoredServiceToken[]>
  /** False when there was no such token. Final in this isolate at once. */
  revoke(id: string): Promise<boolean>
  /** Notes a use; the caller decides how often (see verify.ts). */
  touch(id: string, at: number, expiresAt: number | null): Promise<void>
}

// Ids and client ids share one random part, so the verifier finds the record from the client id
// without a lookup table. 15 random bytes are exactly 20 base64url characters (no padding), and
// the whole id stays well under the 40 characters the log scan treats as token-like.
const RANDOM_LENGTH = 20
const ID_PATTERN = /^svc_([A-Za-z0-9_-]{20})$/
const CLIENT_ID_PATTERN = /^cid_([A-Za-z0-9_-]{20})$/

export const isServiceTokenId = (id: string) => ID_PATTERN.test(id)
export const clientIdOf = (id: string) => `cid_${id.slice('svc_'.length)}`
/** The token id a client id names, or null when it is not shaped like one (no KV read then). */
export const idOfClientId = (clientId: string): string | null => {
  const random = CLIENT_ID_PATTERN.exec(clientId)?.[1]
  return random ? `svc_${random}` : null
}

export const isExpired = (record: ServiceTokenRecord, now = Date.now()) =>
  record.expiresAt !== null && record.expiresAt <= now

// Two keys per token (kv/keys.ts): the record, and its last use under its own key, so the
// frequent write (last use) never rewrites the record: a write that read the token before a
// revocation and lands after it leaves at most an orphan that nothing reads.

const recordSchema = z.object({
  v: z.literal(1),
  id: z.string(),
  name: z.string(),
  secretHash: z.string(),
  createdAt: z.number(),
  expiresAt: z.nullable(z.number()),
})

// In-isolate cache of token reads, like the session cache and bounded by the same setting
// (SESSION_CACHE_SECONDS): a machine sending a burst costs one KV read, and a token revoked in
// another isolate may be honoured here that much longer. A revocation here is final at once:
// its id is remembered, so neither the cache nor a read that raced the delete answers for it.
const MAX_REMEMBERED = 10_000
const cache = new BoundedMap<string, { token: StoredServiceToken; until: number }>(MAX_REMEMBERED)
// Not a BoundedMap: emptying it when full would forget every revocation at once; forget (below)
// lets only the oldest go. One set per KV namespace: what this isolate revoked in that store.
const revokedIn = perObject((_kv: KVNamespace) => new Set<string>())

function forget(revokedHere: Set<string>, id: string) {
  cache.delete(id)
  if (revokedHere.size >= MAX_REMEMBERED) {
    const oldest = revokedHere.values().next().value
    if (oldest !== undefined) revokedHere.delete(oldest)
  }
  revokedHere.add(id)
}

export class KvServiceTokenStore implements ServiceTokenStore {
  constructor(
    private readonly kv: KVNamespace,
    private readonly cacheSeconds = 0,
    /** Where a revocation is recorded first, and what this isolate knows of them (src/revocation). */
    private readonly revocations: Revocations = KV_ONLY,
  ) {}

  /** Revoked here, or anywhere as far as the revocation authority has told this isolate. */
  private revoked(id: string): boolean {
    return revokedIn(this.kv).has(id) || this.revocations.endsToken(id)
  }

  async create(input: { name: string; expiresInSeconds?: number }): Promise<NewServiceToken> {
    const clientSecret = randomToken(32)
    const createdAt = Date.now()
    const record: ServiceTokenRecord = {
      v: 1,
      id: `svc_${randomToken(15)}`,
      name: input.name,
      secretHash: await sha256(clientSecret),
      createdAt,
      expiresAt:
        input.expiresInSeconds === undefined ? null : createdAt + input.expiresInSeconds * 1000,
    }
    // Kept until the token expires (KV deletes it then), or for good when it never does.
    await this.kv.put(
      serviceTokenKey(record.id),
      JSON.stringify(record),
      keptUntil(record.expiresAt),
    )
    return { record, clientSecret }
  }

  async get(id: string): Promise<StoredServiceToken | null> {
    if (this.revoked(id)) return null
    const cached = this.cacheSeconds > 0 ? cache.get(id) : undefined
    if (cached && cached.until > Date.now()) return cached.token
    const keys = [serviceTokenKey(id), serviceTokenUsedKey(id)] as const
    const values = await this.kv.get([...keys], 'text')
    const token = this.parse(id, values.get(keys[0]) ?? null, values.get(keys[1]) ?? null)
    // Checked again: a revocation in this isolate may have landed while KV answered.
    if (!token || this.revoked(id)) {
      cache.delete(id)
      return null
    }
    if (this.cacheSeconds > 0)
      cache.set(id, { token, until: Date.now() + this.cacheSeconds * 1000 })
    return token
  }

  async list(now = Date.now()): Promise<StoredServiceToken[]> {
    const tokens: StoredServiceToken[] = []
    for await (const page of listNames(this.kv, SERVICE_TOKEN_PREFIX)) {
      // Bulk reads take at most 100 keys: 50 tokens and their last uses at a time.
      for (let start = 0; start < page.length; start += 50) {
        const ids = page.slice(start, start + 50)
        const values = await this.kv.get(
          ids.flatMap((id) => [serviceTokenKey(id), serviceTokenUsedKey(id)]),
          'text',
        )
        for (const id of ids) {
          const token = this.parse(
            id,
            values.get(serviceTokenKey(id)) ?? null,
            values.get(serviceTokenUsedKey(id)) ?? null,
          )
          // KV expires keys lazily; an expired token is gone as far as anyone can tell.
          if (token && !isExpired(token.record, now) && !this.revoked(id)) tokens.push(token)
        }
      }
    }
    return tokens.sort((a, b) => a.record.createdAt - b.record.createdAt)
  }

  async revoke(id: string): Promise<boolean> {
    const existed = (await this.kv.get(serviceTokenKey(id), 'text')) !== null && !this.revoked(id)
    // Recorded even when this location's KV does not show it: it may not have arrived here yet.
    // Deleted from KV even when the authority could not record it (then the failure is thrown:
    // not acknowledged, but not left live either).
    const failure = await this.revocations.record({ kind: 'token', key: id }).then(
      () => undefined,
      (error: unknown) => ({ error }),
    )
    forget(revokedIn(this.kv), id)
    await this.kv.delete(serviceTokenKey(id))
    await this.kv.delete(serviceTokenUsedKey(id))
    if (failure) throw failure.error
    return existed
  }

  async touch(id: string, at: number, expiresAt: number | null): Promise<void> {
    if (this.revoked(id)) return
    // Kept as long as its token.
    await this.kv.put(serviceTokenUsedKey(id), String(at), keptUntil(expiresAt))
  }

  private parse(id: string, raw: string | null, lastUsed: string | null) {
    if (raw === null) return null
    const record = parseStored(recordSchema, raw)
    if (record?.id !== id) {
      log({ event: 'service_token_unreadable', tokenId: id })
      return null
    }
    const lastUsedAt = lastUsed !== null && /^\d+$/.test(lastUsed) ? Number(lastUsed) : null
    return { record, lastUsedAt }
  }
}
