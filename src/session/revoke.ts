import { log } from '../log'
import type { SessionStore } from './store'

/**
 * Ends every session of one person (by the hash of their email): immediately where it runs, and
 * everywhere else once KV has carried the person's "revoked before" time (README: revocation).
 */
export async function revokeAllForPerson(store: SessionStore, personKey: string): Promise<number> {
  const revoked = await store.revokePerson(personKey)
  log({ event: 'sessions_revoked', count: revoked })
  return revoked
}
