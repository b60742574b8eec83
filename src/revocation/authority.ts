import { DurableObject } from 'cloudflare:workers'
import { tagOf, type Changes, type End, type RecordedEnd } from './ends'
import { RETENTION_MS } from './retention'

const EVENTS_CURSOR = 'events-cursor'

/** A socket subscription (the WebSocket relay) listens on at most this many tags. */
const MAX_TAGS = 10

/**
 * The revocation authority (README "Revocation"): one SQLite-backed Durable Object that every end
 * is recorded in before it is acknowledged. Isolates read the ends recorded since their last look
 * (changesSince) at most once per REVOCATION_BOUND_SECONDS; open WebSockets subscribe to the
 * ends that concern them and are told at once (hibernating sockets: an idle subscription costs
 * nothing). One object, named `ends`: see the README for its cost at scale.
 */
export class RevocationAuthority extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS ends (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      key TEXT NOT NULL,
      before INTEGER,
      at INTEGER NOT NULL
    )`)
    ctx.storage.sql.exec('CREATE INDEX IF NOT EXISTS ends_at ON ends (at)')
    // This storage's own name, made once: a view that read another storage (before a reset)
    // cannot go on from its sequence number here, however far this one has counted.
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS storage (name TEXT NOT NULL)')
    const named = ctx.storage.sql.exec<{ name: string }>('SELECT name FROM storage').toArray()[0]
    this.storageName = named?.name ?? crypto.randomUUID()
    if (!named) ctx.storage.sql.exec('INSERT INTO storage (name) VALUES (?)', this.storageName)
  }

  private readonly storageName: string

  /** Records an end (durably: the answer comes once it is written) and pushes it to sockets. */
  async record(end: End): Promise<number> {
    const at = Date.now()
    this.ctx.storage.sql.exec('DELETE FROM ends WHERE at < ?', at - RETENTION_MS)
    const before = 'before' in end ? end.before : null
    const row = this.ctx.storage.sql
      .exec<{ seq: number }>(
        'INSERT INTO ends (kind, key, before, at) VALUES (?, ?, ?, ?) RETURNING seq',
        end.kind,
        end.key,
        before,
        at,
      )
      .one()
    const pushed = JSON.stringify({ ...end, seq: row.seq, at })
    for (const socket of this.ctx.getWebSockets(tagOf(end))) {
      try {
        socket.send(pushed)
      } catch {
        // Already closing: its relay re-checks on its own timer.
      }
    }
    return row.seq
  }

  /**
   * The ends recorded after `seq` that are still kept, or all kept when `seq` is not a number of
   * this storage (`storage`, the name the view last read from, is another's: it was reset).
   */
  async changesSince(seq: number, storage?: string): Promise<Changes> {
    const sql = this.ctx.storage.sql
    const newest = latestSeq(sql)
    // A view of another storage (this one was reset), or ahead of this one, starts over. Ends a
    // view never saw that are no longer kept need no reading: KV's own markers have reached
    // every location by then.
    const whole = storage !== this.storageName || seq > newest
    const rows = sql
      .exec<Row>(
        'SELECT seq, kind, key, before, at FROM ends WHERE seq > ? AND at >= ? ORDER BY seq',
        whole ? 0 : seq,
        Date.now() - RETENTION_MS,
      )
      .toArray()
    return { storage: this.storageName, seq: newest, whole, ends: rows.map(endOf) }
  }

  /**
   * Where reading WorkOS's Events API left off (src/webhooks/recover-events.ts): the id of the
   * last event read. Kept here, strongly consistent, so two cron runs never read from stale
   * places.
   */
  async eventsCursor(): Promise<string | null> {
    return (await this.ctx.storage.get<string>(EVENTS_CURSOR)) ?? null
  }

  async setEventsCursor(eventId: string): Promise<void> {
    await this.ctx.storage.put(EVENTS_CURSOR, eventId)
  }

  /**
   * A WebSocket that is told each end recorded under its tags (`?tag=session:…&tag=person:…`):
   * the relay closes the person's socket on the first message.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket')
      return new Response('expected a WebSocket upgrade', { status: 426 })
    const tags = new URL(request.url).searchParams.getAll('tag')
    if (tags.length === 0 || tags.length > MAX_TAGS || tags.some((tag) => tag.length > 256))
      return new Response('bad tags', { status: 400 })
    const pair = new WebSocketPair()
    this.ctx.acceptWebSocket(pair[1], tags)
    return new Response(null, { status: 101, webSocket: pair[0] })
  }

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    try {
      socket.close(code === 1005 ? 1000 : code, 'closed')
    } catch {
      // Already closed.
    }
  }
}

type Row = { seq: number; kind: string; key: string; before: number | null; at: number }

function endOf(row: Row): RecordedEnd {
  const { seq, key, at } = row
  if (row.kind === 'person' || row.kind === 'connection')
    return { kind: row.kind, key, before: row.before ?? at, seq, at }
  return { kind: row.kind as 'session' | 'token', key, seq, at }
}

/** The newest sequence ever handed out, kept by SQLite even once its row is pruned. */
function latestSeq(sql: SqlStorage): number {
  const row = sql
    .exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'ends'")
    .toArray()[0]
  return row?.seq ?? 0
}
