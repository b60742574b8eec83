import { sha256 } from '../crypto'
import { log } from '../log'
import { sessionRecordSchema, type SessionRecord } from './record'

/**
 * Where sessions live. The id given here is the secret from the cookie; implementations must not
 * store it in clear. Any implementation must pass test/session-store.contract.ts.
 */
export interface SessionStore {
  /** The live session for this id, or null (unknown, expired, corrupt or from an older format). */
  get(sessionId: string, now?: number): Promise<SessionRecord | null>
  /** Stores the session until its `expiresAt`. */
  put(sessionId: string, record: SessionRecord): Promise<void>
  delete(sessionId: string): Promise<void>
}

// KV refuses an expirationTtl below 60 s; `expiresAt` in the value is what we actually enforce.
const KV_MIN_TTL_SECONDS = 60

export const sessionKey = async (sessionId: string) => `session:${await sha256(sessionId)}`

export class KvSessionStore implements SessionStore {
  constructor(private readonly kv: KVNamespace) {}

  async get(sessionId: string, now = Date.now()): Promise<SessionRecord | null> {
    const key = await sessionKey(sessionId)
    const raw = await this.kv.get(key, 'text')
    if (raw === null) return null
    const record = parseRecord(raw)
    if (!record) {
      log({ event: 'session_unreadable', key: key.slice(0, 16) })
      return null
    }
    return record.expiresAt > now ? record : null
  }

  async put(sessionId: string, record: SessionRecord): Promise<void> {
    const ttl = Math.ceil((record.expiresAt - Date.now()) / 1000)
    await this.kv.put(await sessionKey(sessionId), JSON.stringify(record), {
      expirationTtl: Math.max(KV_MIN_TTL_SECONDS, ttl),
    })
  }

  async delete(sessionId: string): Promise<void> {
    await this.kv.delete(await sessionKey(sessionId))
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
