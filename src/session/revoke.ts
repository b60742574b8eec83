import { log } from '../log'
import type { SessionStore } from './store'

/**
 * Ends every session of one person (by the hash of their email). Deletion is immediate where it
 * runs; other Cloudflare locations may serve a cached copy for up to KV's ~60 s (README).
 */
export async function revokeAllForPerson(store: SessionStore, personKey: string): Promise<number> {
  const sessions = await store.listForPerson(personKey)
  for (const { handle } of sessions) await store.deleteByHandle(handle)
  log({ event: 'sessions_revoked', count: sessions.length })
  return sessions.length
}
