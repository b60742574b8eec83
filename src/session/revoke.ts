import { log } from '../log'
import type { SessionRecord } from './record'
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

/**
 * Ends every session signed in through one SSO connection: those a listing shows at once, and
 * the rest (made elsewhere, not listed yet) through the connection's end time, which every
 * session read checks (STORAGE.md: `connections-ended`).
 */
export async function revokeConnection(store: SessionStore, connectionId: string): Promise<number> {
  const revoked = await store.endConnection(connectionId)
  log({ event: 'sessions_revoked', scope: 'connection', count: revoked })
  return revoked
}

/**
 * Ends the sessions of one person that `which` picks (their SSO sessions in one organization,
 * those carrying a group), each with its end marker, so nothing that lands later revives one.
 * Only what the person's listing shows: unlike revokeAllForPerson there is no "revoked before"
 * time for part of a person, so a session of theirs made elsewhere in the last moment, before
 * KV's listing shows it, is not reached.
 */
export async function revokeSessionsOf(
  store: SessionStore,
  personKey: string,
  which: (record: SessionRecord) => boolean,
): Promise<number> {
  let revoked = 0
  for (const { handle, record } of await store.listForPerson(personKey)) {
    if (!which(record)) continue
    await store.deleteByHandle(handle)
    revoked += 1
  }
  log({ event: 'sessions_revoked', scope: 'some', count: revoked })
  return revoked
}
