import { sha256 } from '../crypto'
import { log } from '../log'
import { isLive, sessionRecordSchema, type SessionRecord } from './record'

/** One of a person's sessions: `handle` is the SHA-256 of its id (never the id itself). */
export interface StoredSession {
  handle: string
  record: SessionRecord
}

/**
 * Where sessions live. The id given here is the secret from the cookie; implementations must not
 * store it in clear. Any implementation must pass test/session-store.contract.ts.
 *
 * Ending a session is final whatever the interleaving: a session ended one by one, or through its
 * person ("revoked before" a time), is never answered as live again, even when a write that read
 * it earlier (a sliding refresh, a rename) lands after the end, or when it was made somewhere a
 * listing could not see yet.
 */
export interface SessionStore {
  /**
   * The live session for this id, or null (unknown, ended, revoked, corrupt or from an older
   * format). `personKey` comes from the signed cookie, so the person's revocation time is read in
   * the same round trip as the session.
   */
  get(sessionId: string, personKey: string, now?: number): Promise<SessionRecord | null>
  /** Stores a new session and indexes it under its person, until it ends. */
  put(sessionId: string, record: SessionRecord): Promise<void>
  /** Rewrites an existing session (a sliding refresh): one write, the index is left alone. */
  refresh(sessionId: string, record: SessionRecord): Promise<void>
  delete(sessionId: string): Promise<void>
  /** The live sessions of a person, by the SHA-256 of their lowercased email. */
  listForPerson(personKey: string, now?: number): Promise<StoredSession[]>
  deleteByHandle(handle: string): Promise<void>
  /** Rewrites a session found through listForPerson (new names from WorkOS). */
  rewriteByHandle(handle: string, record: SessionRecord): Promise<void>
  /**
   * Ends every session of a person made until now, wherever it was made and whether or not a
   * listing sees it yet. Returns how many sessions the listing found and deleted.
   */
  revokePerson(personKey: string): Promise<number>
  /** Remembers which person a WorkOS user/profile id belongs to, for revocation by id. */
  rememberUserId(userId: string, personKey: string, untilMs: number): Promise<void>
  personForUserId(userId: string): Promise<string | null>
}

/** The key a person's sessions are indexed under: SHA-256 of the lowercased email. */
export const personKeyOf = (email: string) => sha256(email.toLowerCase())

// KV refuses an expirationTtl below 60 s; the times in the value are what we actually enforce.
const KV_MIN_TTL_SECONDS = 60
const ttlUntil = (ms: number) => Math.max(KV_MIN_TTL_SECONDS, Math.ceil((ms - Date.now()) / 1000))

const sessionKeyOf = (handle: string) => `session:${handle}`
// Left by every deletion and kept as long as any session can live: a write that read the session
// before it ended (a sliding refresh in the background, a webhook's rename, a stale KV copy
// elsewhere) may land after the delete and put the value back, but never makes it live again.
const endedKeyOf = (handle: string) => `ended:${handle}`
// A person's "revoked before" time (epoch ms): every session of theirs made until then is over.
// Listing the person's index (below) finds only what KV's list has caught up with; this does not.
const revokedKeyOf = (personKey: string) => `revoked:${personKey}`
const indexPrefix = (personKey: string) => `person:${personKey}:`

export const sessionKey = async (sessionId: string) => sessionKeyOf(await sha256(sessionId))

// An in-isolate cache of session lookups, so a burst of requests from one browser costs one KV
// read, not one each. Its TTL (SESSION_CACHE_SECONDS) is the extra time a session revoked in
// *another* isolate may still be honoured here; an end in this isolate clears it at once.
const MAX_CACHED = 10_000
const cache = new Map<string, { record: SessionRecord; personKey: string; until: number }>()

function remember(handle: string, personKey: string, record: SessionRecord, seconds: number) {
  if (seconds <= 0) return
  if (cache.size >= MAX_CACHED) cache.clear()
  cache.set(handle, { record, personKey, until: Date.now() + seconds * 1000 })
}

function forgetPerson(personKey: string) {
  for (const [handle, entry] of cache) if (entry.personKey === personKey) cache.delete(handle)
}

export class KvSessionStore implements SessionStore {
  constructor(
    private readonly kv: KVNamespace,
    private readonly cacheSeconds = 0,
    /** The longest a session can live (SESSION_TTL_SECONDS): how long end markers are kept. */
    private readonly maxLifetimeSeconds = 31536000,
  ) {}

  async get(sessionId: string, personKey: string, now = Date.now()): Promise<SessionRecord | null> {
    const handle = await sha256(sessionId)
    const cached = this.cacheSeconds > 0 ? cache.get(handle) : undefined
    if (cached && cached.until > Date.now() && cached.personKey === personKey)
      return isLive(cached.record, now) ? cached.record : null
    // One round trip: the session, its end marker and its person's revocation time together.
    const keys = [sessionKeyOf(handle), endedKeyOf(handle), revokedKeyOf(personKey)]
    const values = await this.kv.get(keys, 'text')
    const record = this.liveRecord(
      handle,
      values.get(keys[0]!) ?? null,
      values.get(keys[1]!) ?? null,
      values.get(keys[2]!) ?? null,
      now,
    )
    // A cookie names its person, and the session must belong to that person.
    if (record && (await personKeyOf(record.email)) !== personKey) return null
    if (record) remember(handle, personKey, record, this.cacheSeconds)
    else cache.delete(handle)
    return record
  }

  private liveRecord(
    handle: string,
    raw: string | null,
    ended: string | null,
    revokedBefore: string | null,
    now: number,
  ): SessionRecord | null {
    if (raw === null || ended !== null) return null
    const record = parseRecord(raw)
    if (!record) {
      log({ event: 'session_unreadable', key: handle.slice(0, 8) })
      return null
    }
    if (revokedBefore !== null && record.createdAt <= Number(revokedBefore)) return null
    return isLive(record, now) ? record : null
  }

  async put(sessionId: string, record: SessionRecord): Promise<void> {
    const handle = await sha256(sessionId)
    await this.kv.put(sessionKeyOf(handle), JSON.stringify(record), {
      expirationTtl: ttlUntil(record.idleExpiresAt),
    })
    // The index entry lives to the absolute end, so a refreshed session stays listed without a
    // second write per refresh; entries whose session is gone are pruned when listed.
    await this.kv.put(`${indexPrefix(await personKeyOf(record.email))}${handle}`, '', {
      expirationTtl: ttlUntil(record.expiresAt),
    })
  }

  async refresh(sessionId: string, record: SessionRecord): Promise<void> {
    // No check before writing: an end marker written meanwhile keeps the session ended on read.
    const handle = await sha256(sessionId)
    await this.kv.put(sessionKeyOf(handle), JSON.stringify(record), {
      expirationTtl: ttlUntil(record.idleExpiresAt),
    })
    const cached = cache.get(handle)
    if (cached) remember(handle, cached.personKey, record, this.cacheSeconds)
  }

  async delete(sessionId: string): Promise<void> {
    await this.deleteByHandle(await sha256(sessionId))
  }

  async listForPerson(personKey: string, now = Date.now()): Promise<StoredSession[]> {
    const prefix = indexPrefix(personKey)
    const revokedBefore = await this.kv.get(revokedKeyOf(personKey), 'text')
    const sessions: StoredSession[] = []
    let cursor: string | undefined
    do {
      const page = await this.kv.list({ prefix, ...(cursor && { cursor }) })
      // Bulk reads take at most 100 keys: 50 sessions and their end markers at a time.
      for (let start = 0; start < page.keys.length; start += 50) {
        const handles = page.keys.slice(start, start + 50).map((k) => k.name.slice(prefix.length))
        const keys = handles.flatMap((handle) => [sessionKeyOf(handle), endedKeyOf(handle)])
        const values = await this.kv.get(keys, 'text')
        for (const handle of handles) {
          const record = this.liveRecord(
            handle,
            values.get(sessionKeyOf(handle)) ?? null,
            values.get(endedKeyOf(handle)) ?? null,
            revokedBefore,
            now,
          )
          if (record) sessions.push({ handle, record })
          else await this.kv.delete(`${prefix}${handle}`)
        }
      }
      cursor = page.list_complete ? undefined : page.cursor
    } while (cursor)
    return sessions.sort((a, b) => b.record.createdAt - a.record.createdAt)
  }

  async deleteByHandle(handle: string): Promise<void> {
    cache.delete(handle)
    // The marker first: whatever lands after it, the session reads as ended.
    await this.kv.put(endedKeyOf(handle), '1', { expirationTtl: this.markerTtl() })
    await this.kv.delete(sessionKeyOf(handle))
  }

  async rewriteByHandle(handle: string, record: SessionRecord): Promise<void> {
    cache.delete(handle)
    await this.kv.put(sessionKeyOf(handle), JSON.stringify(record), {
      expirationTtl: ttlUntil(record.idleExpiresAt),
    })
  }

  async revokePerson(personKey: string): Promise<number> {
    // Listed first (a listing after the marker would find nothing live to count); a session
    // made between the listing and the marker is older than the marker, so it ends too.
    const sessions = await this.listForPerson(personKey)
    forgetPerson(personKey)
    await this.kv.put(revokedKeyOf(personKey), String(Date.now()), {
      expirationTtl: this.markerTtl(),
    })
    // Deleting what the listing found tidies the sessions page and KV; the marker above is what
    // makes the revocation complete.
    for (const { handle } of sessions) await this.deleteByHandle(handle)
    return sessions.length
  }

  async rememberUserId(userId: string, personKey: string, untilMs: number): Promise<void> {
    await this.kv.put(`user:${userId}`, personKey, { expirationTtl: ttlUntil(untilMs) })
  }

  async personForUserId(userId: string): Promise<string | null> {
    return this.kv.get(`user:${userId}`, 'text')
  }

  // Any session that could still be live ends before its marker does.
  private markerTtl() {
    return Math.max(KV_MIN_TTL_SECONDS, this.maxLifetimeSeconds)
  }
}

function parseRecord(raw: string): SessionRecord | null {
  try {
    const parsed = sessionRecordSchema.safeParse(JSON.parse(raw))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}
