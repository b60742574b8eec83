// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { BoundedMap } from '../bounded-cache'
import { sha256 } from '../crypto'
import {
  CONNECTION_ENDED_PREFIX,
  CONNECTIONS_ENDED_KEY,
  connectionEndedKey,
  connectionIndexKey,
  connectionIndexPrefix,
  endedKey,
  isListable,
  personIndexKey,
  personIndexPrefix,
  revokedKey,
  sessionKey,
  userKey,
} from '../kv/keys'
import { KV_ONLY, type Revocations } from '../revocation/revocations'
import { listNames } from '../kv/list'
import { parseStored } from '../kv/stored-json'
import { keptUntil, ttlOf } from '../kv/ttl'
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
 * Ending a session is final whatever the interleaving: a session ended one by one, through its
 * person ("revoked before" a time) or through its SSO connection, is never answered as live again,
 * even when a write that read it earlier (a sliding refresh, a rename) lands after the end, or when
 * it was made somewhere a listing could not see yet.
 */
export interface SessionStore {
  /**
   * The answer this store holds in memory for this session (null: ended), or undefined when it
   * holds none: no I/O and no promise, for the hot path of a browser's repeat requests. A store
   * without an in-isolate cache always answers undefined (and `get` does the work).
   */
  cached(sessionId: string, personKey: string, now?: number): SessionRecord | null | undefined
  /**
   * The live session for this id, or null (unknown, ended, revoked, corrupt or from an older
   * format). `personKey` comes from the signed cookie, so the person's revocation time is read in
   * the same round trip as the session.
   */
  get(sessionId: string, personKey: string, now?: number): Promise<SessionRecord | null>
  /**
   * The same by the session's handle (the SHA-256 of its id), read past the isolate cache: for a
   * step that kept the handle and not the secret (an OAuth code names the session that consented).
   */
  getByHandle(handle: string, personKey: string, now?: number): Promise<SessionRecord | null>
  /** Stores a new session and indexes it under its person, until it ends. */
  put(sessionId: string, record: SessionRecord): Promise<void>
  /** Rewrites an existing session (a sliding refresh): one write, the index is left alone. */
  refresh(sessionId: string, record: SessionRecord): Promise<void>
  delete(sessionId: string): Promise<void>
  /** The live sessions of a person, by the SHA-256 of their lowercased email. */
  listForPerson(personKey: string, now?: number): Promise<StoredSession[]>
  deleteByHandle(handle: string): Promise<void>
  /** Rewrites a session found through listForPerson (new names or roles from WorkOS). */
  rewriteByHandle(handle: string, record: SessionRecord): Promise<void>
  /**
   * Ends every session of a person made until now, wherever it was made and whether or not a
   * listing sees it yet. Returns how many sessions the listing found and deleted.
   */
  revokePerson(personKey: string): Promise<number>
  /**
   * Ends every session signed in through this SSO connection made until now (`connectionId` in
   * the record), wherever it was made and whether or not a listing sees it yet; sessions made
   * later (the connection activated again) live. Returns how many the listing found and ended.
   */
  endConnection(connectionId: string): Promise<number>
  /** Remembers which person a WorkOS user/profile id belongs to, for revocation by id. */
  rememberUserId(userId: string, personKey: string, untilMs: number): Promise<void>
  personForUserId(userId: string): Promise<string | null>
}

/** The key a person's sessions are indexed under: SHA-256 of the lowercased email. */
export const personKeyOf = (email: string) => sha256(email.toLowerCase())

// Its keys, and why each one exists: kv/keys.ts.
const connectionEndsSchema = z.record(z.string(), z.number())

// The SHA-256 of session ids this isolate has seen: every request of a browser (or of an OAuth
// client, whose token carries its grant's id) hashes the same id.
const handles = new BoundedMap<string, string>(10_000)

/** A session's (or grant's) KV handle when this isolate has hashed its id already. */
export const knownHandleOf = (sessionId: string): string | undefined => handles.get(sessionId)

/** A session's (or grant's) KV handle: the SHA-256 of its id, hashed once per isolate. */
export async function handleOf(sessionId: string): Promise<string> {
  let handle = handles.get(sessionId)
  if (handle === undefined) {
    handle = await sha256(sessionId)
    handles.set(sessionId, handle)
  }
  return handle
}

// An in-isolate cache of session lookups, so a burst of requests from one browser costs one KV
// read, not one each. Its TTL (SESSION_CACHE_SECONDS) is the extra time a session revoked in
// *another* isolate may still be honoured here; an end in this isolate clears it at once.
const cache = new BoundedMap<string, { record: SessionRecord; personKey: string; until: number }>(
  10_000,
)

function remember(handle: string, personKey: string, record: SessionRecord, seconds: number) {
  if (seconds <= 0) return
  cache.set(handle, { record, personKey, until: Date.now() + seconds * 1000 })
}

function forgetPerson(personKey: string) {
  for (const [handle, entry] of cache) if (entry.personKey === personKey) cache.delete(handle)
}

function forgetConnection(connectionId: string) {
  for (const [handle, entry] of cache)
    if (entry.record.connectionId === connectionId) cache.delete(handle)
}

/**
 * An end the revocation authority is recording, then KV's own end of it. When the authority
 * could not record it, KV's end is written all the same (it reaches every location within KV's
 * propagation, and lasts) and the failure is thrown: the end is not acknowledged, but nothing
 * is left live because the authority was down (a person whose sign-out failed has lost the
 * cookie they would try again with).
 */
async function recordedOrKvAlone(recorded: Promise<void>, endInKv: () => Promise<void>) {
  const failure = await recorded.then(
    () => undefined,
    (error: unknown) => ({ error }),
  )
  await endInKv()
  if (failure) throw failure.error
}

/** When each ended connection ended; 'all' when the value could not be read (fail closed). */
type ConnectionEnds = ReadonlyMap<string, number> | 'all'

/** True when the session was signed in through a connection that ended after it was made. */
function endedWithConnection(record: SessionRecord, ends: ConnectionEnds): boolean {
  if (record.connectionId === undefined) return false
  if (ends === 'all') return true
  const endedAt = ends.get(record.connectionId)
  return endedAt !== undefined && record.createdAt <= endedAt
}

// The connections-ended value as this isolate last read it, parsed once per distinct value. With
// an isolate cache (SESSION_CACHE_SECONDS) it is reused for as long as a cached session answer
// is, so a busy isolate reads three keys per session, not four; without one it is read every time.
let lastConnectionEnds: { raw: string | null; ends: ConnectionEnds; until: number } = {
  raw: null,
  ends: new Map(),
  until: 0,
}

function connectionEndsOf(raw: string | null, cacheSeconds: number): ConnectionEnds {
  if (raw !== lastConnectionEnds.raw)
    lastConnectionEnds = { raw, ends: parseConnectionEnds(raw), until: 0 }
  if (cacheSeconds > 0) lastConnectionEnds.until = Date.now() + cacheSeconds * 1000
  return lastConnectionEnds.ends
}

function parseConnectionEnds(raw: string | null): ConnectionEnds {
  if (raw === null) return new Map()
  const parsed = parseStored(connectionEndsSchema, raw)
  if (parsed) return new Map(Object.entries(parsed))
  // It cannot say which connections ended, so no SSO session is answered as live until the next
  // connection end rebuilds it (from the per-connection markers).
  log({ event: 'session_unreadable', key: CONNECTIONS_ENDED_KEY })
  return 'all'
}

export class KvSessionStore implements SessionStore {
  constructor(
    private readonly kv: KVNamespace,
    private readonly cacheSeconds = 0,
    /** The longest a session can live (SESSION_TTL_SECONDS): how long end markers are kept. */
    private readonly maxLifetimeSeconds = 31536000,
    /** Where every end is recorded first, and what this isolate knows of ends (src/revocation). */
    private readonly revocations: Revocations = KV_ONLY,
  ) {}

  cached(sessionId: string, personKey: string, now = Date.now()): SessionRecord | null | undefined {
    if (this.cacheSeconds <= 0) return undefined
    const handle = handles.get(sessionId)
    const entry = handle === undefined ? undefined : cache.get(handle)
    if (!entry || entry.until <= Date.now() || entry.personKey !== personKey) return undefined
    return this.stillLive(handle!, personKey, entry.record, now) ? entry.record : null
  }

  async get(sessionId: string, personKey: string, now = Date.now()): Promise<SessionRecord | null> {
    const handle = await handleOf(sessionId)
    const cached = this.cacheSeconds > 0 ? cache.get(handle) : undefined
    if (cached && cached.until > Date.now() && cached.personKey === personKey)
      return this.stillLive(handle, personKey, cached.record, now) ? cached.record : null
    return this.getByHandle(handle, personKey, now)
  }

  async getByHandle(
    handle: string,
    personKey: string,
    now = Date.now(),
  ): Promise<SessionRecord | null> {
    // One round trip: the session, its end marker, its person's revocation time and the ended
    // SSO connections together (the last left out while this isolate's copy of it is fresh).
    const keys = [sessionKey(handle), endedKey(handle), revokedKey(personKey)]
    const reuseEnds = this.cacheSeconds > 0 && lastConnectionEnds.until > Date.now()
    if (!reuseEnds) keys.push(CONNECTIONS_ENDED_KEY)
    const values = await this.kv.get(keys, 'text')
    const ends = reuseEnds
      ? lastConnectionEnds.ends
      : connectionEndsOf(values.get(CONNECTIONS_ENDED_KEY) ?? null, this.cacheSeconds)
    const record = this.liveRecord(
      handle,
      personKey,
      values.get(keys[0]!) ?? null,
      values.get(keys[1]!) ?? null,
      values.get(keys[2]!) ?? null,
      ends,
      now,
    )
    // A cookie names its person, and the session must belong to that person.
    if (record && (await personKeyOf(record.email)) !== personKey) return null
    const live = record && !(await this.signInEnded(record)) ? record : null
    if (live) remember(handle, personKey, live, this.cacheSeconds)
    else cache.delete(handle)
    return live
  }

  /**
   * A host session (SIGN_IN_HOST) ends with the sign-in it was handed off from: its end marker is
   * read too (a second round trip, for host sessions only), so a host session that no listing
   * showed when the sign-in ended (made in another location, or from a code spent after) ends
   * with it.
   */
  private async signInEnded(record: SessionRecord): Promise<boolean> {
    if (record.parent === undefined) return false
    return (await this.kv.get(endedKey(record.parent), 'text')) !== null
  }

  private liveRecord(
    handle: string,
    personKey: string,
    raw: string | null,
    ended: string | null,
    revokedBefore: string | null,
    connectionEnds: ConnectionEnds,
    now: number,
  ): SessionRecord | null {
    if (raw === null || ended !== null) return null
    const record = parseStored(sessionRecordSchema, raw)
    if (!record) {
      log({ event: 'session_unreadable', key: handle.slice(0, 8) })
      return null
    }
    if (revokedBefore !== null && record.createdAt <= Number(revokedBefore)) return null
    if (endedWithConnection(record, connectionEnds)) return null
    return this.stillLive(handle, personKey, record, now) ? record : null
  }

  /** Within its lifetimes, and not ended by an end the revocation authority told this isolate of. */
  private stillLive(handle: string, personKey: string, record: SessionRecord, now: number) {
    return isLive(record, now) && !this.revocations.endsSession(handle, personKey, record)
  }

  async put(sessionId: string, record: SessionRecord): Promise<void> {
    const handle = await sha256(sessionId)
    await this.kv.put(sessionKey(handle), JSON.stringify(record), keptUntil(record.idleExpiresAt))
    // The index entry lives to the absolute end, so a refreshed session stays listed without a
    // second write per refresh; entries whose session is gone are pruned when listed.
    const personKey = await personKeyOf(record.email)
    await this.kv.put(personIndexKey(personKey, handle), '', keptUntil(record.expiresAt))
    // WorkOS ids are a prefix and a ULID; anything else is not indexed (a ':' would let one
    // connection's prefix list another's entries).
    if (record.connectionId !== undefined && isListable(record.connectionId)) {
      const key = connectionIndexKey(record.connectionId, handle)
      await this.kv.put(key, '', keptUntil(record.expiresAt))
    }
  }

  async refresh(sessionId: string, record: SessionRecord): Promise<void> {
    // No check before writing: an end marker written meanwhile keeps the session ended on read.
    const handle = await sha256(sessionId)
    await this.kv.put(sessionKey(handle), JSON.stringify(record), keptUntil(record.idleExpiresAt))
    const cached = cache.get(handle)
    if (cached) remember(handle, cached.personKey, record, this.cacheSeconds)
  }

  async delete(sessionId: string): Promise<void> {
    await this.deleteByHandle(await sha256(sessionId))
  }

  async listForPerson(personKey: string, now = Date.now()): Promise<StoredSession[]> {
    const markers = await this.kv.get([revokedKey(personKey), CONNECTIONS_ENDED_KEY], 'text')
    const revokedBefore = markers.get(revokedKey(personKey)) ?? null
    const ends = connectionEndsOf(markers.get(CONNECTIONS_ENDED_KEY) ?? null, 0)
    const sessions: StoredSession[] = []
    for await (const page of listNames(this.kv, personIndexPrefix(personKey))) {
      // Bulk reads take at most 100 keys: 50 sessions and their end markers at a time.
      for (let start = 0; start < page.length; start += 50) {
        const handles = page.slice(start, start + 50)
        const keys = handles.flatMap((handle) => [sessionKey(handle), endedKey(handle)])
        const values = await this.kv.get(keys, 'text')
        for (const handle of handles) {
          const record = this.liveRecord(
            handle,
            personKey,
            values.get(sessionKey(handle)) ?? null,
            values.get(endedKey(handle)) ?? null,
            revokedBefore,
            ends,
            now,
          )
          if (record) sessions.push({ handle, record })
          else await this.kv.delete(personIndexKey(personKey, handle))
        }
      }
    }
    return sessions.sort((a, b) => b.record.createdAt - a.record.createdAt)
  }

  async deleteByHandle(handle: string): Promise<void> {
    // The authority first: once it has the end, every location refuses the session within the
    // bound, whatever its KV still says.
    await recordedOrKvAlone(this.revocations.record({ kind: 'session', key: handle }), () =>
      this.endByHandle(handle),
    )
  }

  /** KV's own end of one session (its marker, then its value), already recorded elsewhere. */
  private async endByHandle(handle: string): Promise<void> {
    cache.delete(handle)
    // The marker first: whatever lands after it, the session reads as ended.
    await this.kv.put(endedKey(handle), '1', { expirationTtl: this.markerTtl() })
    await this.kv.delete(sessionKey(handle))
  }

  async rewriteByHandle(handle: string, record: SessionRecord): Promise<void> {
    cache.delete(handle)
    await this.kv.put(sessionKey(handle), JSON.stringify(record), keptUntil(record.idleExpiresAt))
  }

  async revokePerson(personKey: string): Promise<number> {
    // Listed first (a listing after the marker would find nothing live to count); a session
    // made between the listing and the marker is older than the marker, so it ends too.
    const sessions = await this.listForPerson(personKey)
    const before = Date.now()
    await recordedOrKvAlone(
      this.revocations.record({ kind: 'person', key: personKey, before }),
      async () => {
        forgetPerson(personKey)
        await this.kv.put(revokedKey(personKey), String(before), {
          expirationTtl: this.markerTtl(),
        })
        // Deleting what the listing found tidies the sessions page and KV; the marker above is
        // what makes the revocation complete.
        for (const { handle } of sessions) await this.endByHandle(handle)
      },
    )
    return sessions.length
  }

  async endConnection(connectionId: string): Promise<number> {
    // Listed first, as for a person: a session made between the listing and the end time is
    // older than it, so the fixed-name key ends it too.
    const handles = isListable(connectionId)
      ? await this.listAll(connectionIndexPrefix(connectionId))
      : []
    const endedAt = Date.now()
    await recordedOrKvAlone(
      this.revocations.record({ kind: 'connection', key: connectionId, before: endedAt }),
      async () => {
        await this.kv.put(connectionEndedKey(connectionId), String(endedAt), {
          expirationTtl: this.markerTtl(),
        })
        await this.recordConnectionEnd(connectionId, endedAt)
        forgetConnection(connectionId)
      },
    )
    // Ending what the listing found (end markers, values deleted) tidies KV and makes those ends
    // final on their own; the key above is what reaches the sessions the listing missed.
    let ended = 0
    for (let start = 0; start < handles.length; start += 50) {
      const batch = handles.slice(start, start + 50)
      const keys = batch.flatMap((handle) => [sessionKey(handle), endedKey(handle)])
      const values = await this.kv.get(keys, 'text')
      for (const handle of batch) {
        const stored = values.get(sessionKey(handle)) ?? null
        if (stored !== null && (values.get(endedKey(handle)) ?? null) === null) {
          await this.endByHandle(handle)
          ended += 1
        }
        await this.kv.delete(connectionIndexKey(connectionId, handle))
      }
    }
    return ended
  }

  /**
   * Adds the connection to the fixed-name key. KV has no compare-and-swap, so two ends written at
   * once from different locations may each miss the other's entry; every write therefore rebuilds
   * the value from all the per-connection markers a listing shows, and an entry lost that way
   * comes back with the next end. (WorkOS delivers from its own servers, so its deliveries
   * usually reach one location, where each write reads the one before.)
   */
  private async recordConnectionEnd(connectionId: string, endedAt: number): Promise<void> {
    const oldest = Date.now() - this.markerTtl() * 1000
    const ends = new Map<string, number>()
    const current = parseConnectionEnds(await this.kv.get(CONNECTIONS_ENDED_KEY, 'text'))
    if (current !== 'all') for (const [id, at] of current) ends.set(id, at)
    const markerIds = await this.listAll(CONNECTION_ENDED_PREFIX)
    for (let start = 0; start < markerIds.length; start += 100) {
      const keys = markerIds.slice(start, start + 100).map(connectionEndedKey)
      const values = await this.kv.get(keys, 'text')
      for (const [key, value] of values) {
        const at = Number(value)
        const id = key.slice(CONNECTION_ENDED_PREFIX.length)
        if (value !== null && Number.isFinite(at)) ends.set(id, Math.max(at, ends.get(id) ?? at))
      }
    }
    ends.set(connectionId, Math.max(endedAt, ends.get(connectionId) ?? endedAt))
    // An end older than the longest session lifetime has nothing left to end.
    for (const [id, at] of ends) if (at < oldest) ends.delete(id)
    const raw = JSON.stringify(Object.fromEntries(ends))
    await this.kv.put(CONNECTIONS_ENDED_KEY, raw, { expirationTtl: this.markerTtl() })
    // This isolate sees the end at once, whatever its copy said.
    lastConnectionEnds = { raw, ends, until: 0 }
  }

  /** Every key name under a prefix, without the prefix, across all listing pages. */
  private async listAll(prefix: string): Promise<string[]> {
    const names: string[] = []
    for await (const page of listNames(this.kv, prefix)) names.push(...page)
    return names
  }

  async rememberUserId(userId: string, personKey: string, untilMs: number): Promise<void> {
    await this.kv.put(userKey(userId), personKey, keptUntil(untilMs))
  }

  async personForUserId(userId: string): Promise<string | null> {
    return this.kv.get(userKey(userId), 'text')
  }

  // Any session that could still be live ends before its marker does.
  private markerTtl() {
    return ttlOf(this.maxLifetimeSeconds)
  }
}
