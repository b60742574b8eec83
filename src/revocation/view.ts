import { RETENTION_MS } from './retention'
import type { Changes, End, RecordedEnd } from './ends'

/**
 * What a session is judged by: its KV handle, its person, when it began, its SSO connection, and
 * for a host session (SIGN_IN_HOST) the handle of the sign-in it was handed off from.
 */
export interface SessionFacts {
  readonly createdAt: number
  readonly connectionId?: string
  readonly parent?: string
}

/**
 * One isolate's copy of the ends the authority keeps: plain maps, read on every request with no
 * I/O. It knows everything recorded up to `seq`, as of `refreshedAt` (when the read that brought
 * it was sent, so its age never understates).
 */
export class EndsView {
  /** The authority's storage `seq` counts in ('' until the first read). */
  storage = ''
  seq = 0
  /** Epoch ms; 0: never refreshed, so the first request waits for a read. */
  refreshedAt = 0
  private readonly sessions = new Map<string, number>()
  private readonly tokens = new Map<string, number>()
  /** Person key → [before, at]: sessions created at or before `before` are over. */
  private readonly persons = new Map<string, readonly [number, number]>()
  private readonly connections = new Map<string, readonly [number, number]>()

  endsSession(handle: string, personKey: string, session: SessionFacts): boolean {
    if (this.sessions.has(handle)) return true
    // A host session ends with its sign-in, wherever it was made and whatever listed it.
    if (session.parent !== undefined && this.sessions.has(session.parent)) return true
    const person = this.persons.get(personKey)
    if (person !== undefined && session.createdAt <= person[0]) return true
    if (session.connectionId === undefined) return false
    const connection = this.connections.get(session.connectionId)
    return connection !== undefined && session.createdAt <= connection[0]
  }

  endsToken(id: string): boolean {
    return this.tokens.has(id)
  }

  /** Takes a refresh's answer, read from a request sent at `askedAt`. */
  apply(changes: Changes, askedAt: number): void {
    // A late answer about a storage this view has since left (reset meanwhile) says nothing.
    if (!changes.whole && changes.storage !== this.storage) return
    if (changes.whole) this.clear()
    // Two reads in flight may answer out of order: an older answer adds nothing new.
    for (const end of changes.ends) if (changes.whole || end.seq > this.seq) this.add(end)
    this.seq = changes.whole ? changes.seq : Math.max(this.seq, changes.seq)
    this.storage = changes.storage
    this.refreshedAt = Math.max(this.refreshedAt, askedAt)
    this.prune(askedAt)
  }

  /** An end this isolate made or was pushed, known before the next read. */
  add(end: End | RecordedEnd): void {
    const at = 'at' in end ? end.at : Date.now()
    if (end.kind === 'session') this.sessions.set(end.key, at)
    else if (end.kind === 'token') this.tokens.set(end.key, at)
    else {
      const ends = end.kind === 'person' ? this.persons : this.connections
      const known = ends.get(end.key)
      if (known === undefined || known[0] < end.before) ends.set(end.key, [end.before, at])
    }
  }

  /** Ends older than the authority keeps are KV's to enforce: the view forgets them too. */
  private prune(now: number): void {
    const oldest = now - RETENTION_MS
    for (const ends of [this.sessions, this.tokens])
      for (const [key, at] of ends) if (at < oldest) ends.delete(key)
    for (const ends of [this.persons, this.connections])
      for (const [key, [, at]] of ends) if (at < oldest) ends.delete(key)
  }

  private clear(): void {
    this.sessions.clear()
    this.tokens.clear()
    this.persons.clear()
    this.connections.clear()
  }
}
