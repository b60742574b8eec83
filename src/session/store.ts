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
 */
export interface SessionStore {
  /** The live session for this id, or null (unknown, ended, corrupt or from an older format). */
  get(sessionId: string, now?: number): Promise<SessionRecord | null>
  /** Stores a new session and indexes it under its person, until it ends. */
  put(sessionId: string, record: SessionRecord): Promise<void>
  /**
   * Rewrites an existing session (a sliding refresh): one write, the index is left alone. A
   * session ended in the last ten minutes is not written back.
   */
  refresh(sessionId: string, record: SessionRecord): Promise<void>
  delete(sessionId: string): Promise<void>
  /** The live sessions of a person, by the SHA-256 of their lowercased email. */
  listForPerson(personKey: string, now?: number): Promise<StoredSession[]>
  deleteByHandle(handle: string): Promise<void>
  /** Rewrites a session found through listForPerson (new names from WorkOS). */
  rewriteByHandle(handle: string, record: SessionRecord): Promise<void>
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
// A short-lived marker left by every deletion: a sliding refresh that read the session just
// before it was ended (in this request's background, or from a stale KV copy elsewhere) checks it
// and does not write the session back. KV's cached reads last about 60 s; ten minutes is ample.
const endedKeyOf = (handle: string) => `ended:${handle}`
const ENDED_MARKER_SECONDS = 600
const indexPrefix = (personKey: string) => `person:${personKey}:`

export const sessionKey = async (sessionId: string) => sessionKeyOf(await sha256(sessionId))

// An in-isolate cache of session lookups, so a burst of requests from one browser costs one KV
// read, not one each. Its TTL (SESSION_CACHE_SECONDS) is the extra time a session revoked in
// *another* isolate may still be honoured here; a deletion in this isolate clears it at once.
const MAX_CACHED = 10_000
const cache = new Map<string, { record: SessionRecord; until: number }>()

function remember(handle: string, record: SessionRecord, seconds: number) {
  if (seconds <= 0) return
  if (cache.size >= MAX_CACHED) cache.clear()
  cache.set(handle, { record, until: Date.now() + seconds * 1000 })
}

export class KvSessionStore implements SessionStore {
  constructor(
    private readonly kv: KVNamespace,
    private readonly cacheSeconds = 0,
  ) {}

  async get(sessionId: string, now = Date.now()): Promise<SessionRecord | null> {
    const handle = await sha256(sessionId)
    const cached = this.cacheSeconds > 0 ? cache.get(handle) : undefined
    if (cached && cached.until > Date.now())
      return isLive(cached.record, now) ? cached.record : null
    const record = await this.getByHandle(handle, now)
    if (record) remember(handle, record, this.cacheSeconds)
    else cache.delete(handle)
    return record
  }

  private async getByHandle(handle: string, now = Date.now()): Promise<SessionRecord | null> {
    const raw = await this.kv.get(sessionKeyOf(handle), 'text')
    if (raw === null) return null
    const record = parseRecord(raw)
    if (!record) {
      log({ event: 'session_unreadable', key: handle.slice(0, 8) })
      return null
    }
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
    const handle = await sha256(sessionId)
    if ((await this.kv.get(endedKeyOf(handle))) !== null) return
    await this.kv.put(sessionKeyOf(handle), JSON.stringify(record), {
      expirationTtl: ttlUntil(record.idleExpiresAt),
    })
    if (cache.has(handle)) remember(handle, record, this.cacheSeconds)
  }

  async delete(sessionId: string): Promise<void> {
    await this.deleteByHandle(await sha256(sessionId))
  }

  async listForPerson(personKey: string, now = Date.now()): Promise<StoredSession[]> {
    const prefix = indexPrefix(personKey)
    const sessions: StoredSession[] = []
    let cursor: string | undefined
    do {
      const page = await this.kv.list({ prefix, ...(cursor && { cursor }) })
      for (const key of page.keys) {
        const handle = key.name.slice(prefix.length)
        const record = await this.getByHandle(handle, now)
        if (record) sessions.push({ handle, record })
        else await this.kv.delete(key.name)
      }
      cursor = page.list_complete ? undefined : page.cursor
    } while (cursor)
    return sessions.sort((a, b) => b.record.createdAt - a.record.createdAt)
  }

  async deleteByHandle(handle: string): Promise<void> {
    cache.delete(handle)
    await this.kv.delete(sessionKeyOf(handle))
    await this.kv.put(endedKeyOf(handle), '1', { expirationTtl: ENDED_MARKER_SECONDS })
  }

  async rewriteByHandle(handle: string, record: SessionRecord): Promise<void> {
    cache.delete(handle)
    await this.kv.put(sessionKeyOf(handle), JSON.stringify(record), {
      expirationTtl: ttlUntil(record.idleExpiresAt),
    })
  }

  async rememberUserId(userId: string, personKey: string, untilMs: number): Promise<void> {
    await this.kv.put(`user:${userId}`, personKey, { expirationTtl: ttlUntil(untilMs) })
  }

  async personForUserId(userId: string): Promise<string | null> {
    return this.kv.get(`user:${userId}`, 'text')
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
