import { describe, expect, it } from 'vitest'
import { randomToken, sha256 } from '../src/crypto'
import type { SessionRecord } from '../src/session/record'
import { personKeyOf, type SessionStore } from '../src/session/store'

/** What every SessionStore must do. Run it against each implementation. */
export function sessionStoreContract(name: string, makeStore: () => SessionStore) {
  const record = (overrides: Partial<SessionRecord> = {}): SessionRecord => {
    const now = Date.now()
    return {
      v: 1,
      sid: randomToken(12),
      userId: 'prof_TEST',
      email: 'someone@example.com',
      firstName: null,
      lastName: null,
      method: 'magic_link',
      createdAt: now,
      expiresAt: now + 3600_000,
      lastSeenAt: now,
      idleExpiresAt: now + 1800_000,
      ip: '203.0.113.1',
      userAgent: 'test',
      ...overrides,
    }
  }

  /** Reads a session as the gateway does: the id and the person key from its cookie. */
  const read = async (store: SessionStore, id: string, email: string, now?: number) =>
    store.get(id, await personKeyOf(email), now)
  const EMAIL = 'someone@example.com'

  describe(`SessionStore contract: ${name}`, () => {
    it('returns what was put', async () => {
      const store = makeStore()
      const id = randomToken()
      const stored = record()
      await store.put(id, stored)
      expect(await read(store, id, EMAIL)).toEqual(stored)
    })

    it('returns null for an unknown id', async () => {
      expect(await read(makeStore(), randomToken(), EMAIL)).toBeNull()
    })

    it('returns null once expiresAt has passed', async () => {
      const store = makeStore()
      const id = randomToken()
      const stored = record({ expiresAt: Date.now() + 1000, idleExpiresAt: Date.now() + 1000 })
      await store.put(id, stored)
      expect(await read(store, id, EMAIL, Date.now())).not.toBeNull()
      expect(await read(store, id, EMAIL, Date.now() + 2000)).toBeNull()
    })

    it('forgets a deleted session, and deleting twice is fine', async () => {
      const store = makeStore()
      const id = randomToken()
      await store.put(id, record())
      await store.delete(id)
      expect(await read(store, id, EMAIL)).toBeNull()
      await store.delete(id)
    })

    it('returns null once idleExpiresAt has passed, even before expiresAt', async () => {
      const store = makeStore()
      const id = randomToken()
      await store.put(id, record({ idleExpiresAt: Date.now() + 1000 }))
      expect(await read(store, id, EMAIL, Date.now() + 2000)).toBeNull()
    })

    it('lists the live sessions of a person, newest first, and deletes by handle', async () => {
      const store = makeStore()
      const email = `${randomToken(6)}@example.com`
      const person = await personKeyOf(email)
      const [a, b, other] = [randomToken(), randomToken(), randomToken()]
      await store.put(a, record({ email, createdAt: Date.now() - 1000 }))
      await store.put(b, record({ email }))
      await store.put(other, record({ email: `x${email}` }))
      const listed = await store.listForPerson(person)
      expect(listed.map((s) => s.record.createdAt)).toEqual(
        [...listed.map((s) => s.record.createdAt)].sort((x, y) => y - x),
      )
      expect(listed).toHaveLength(2)
      await store.deleteByHandle(listed[0]!.handle)
      expect(await read(store, b, email)).toBeNull()
      expect(await read(store, a, email)).not.toBeNull()
      expect(await store.listForPerson(person)).toHaveLength(1)
      // A deleted session drops out of the listing.
      await store.delete(a)
      expect(await store.listForPerson(person)).toHaveLength(0)
    })

    it('refresh rewrites the record; the session stays listed', async () => {
      const store = makeStore()
      const id = randomToken()
      const email = `${randomToken(6)}@example.com`
      const stored = record({ email })
      await store.put(id, stored)
      await store.refresh(id, { ...stored, lastSeenAt: stored.lastSeenAt + 5 })
      expect((await read(store, id, email))?.lastSeenAt).toBe(stored.lastSeenAt + 5)
      expect(await store.listForPerson(await personKeyOf(email))).toHaveLength(1)
    })

    it('a refresh or a rename landing after a delete does not bring the session back', async () => {
      const store = makeStore()
      const id = randomToken()
      const stored = record()
      await store.put(id, stored)
      const listed = await store.listForPerson(await personKeyOf(EMAIL))
      const { handle } = listed.find((s) => s.record.sid === stored.sid)!
      await store.delete(id)
      await store.refresh(id, { ...stored, lastSeenAt: Date.now() })
      expect(await read(store, id, EMAIL)).toBeNull()
      await store.rewriteByHandle(handle, { ...stored, firstName: 'Renamed' })
      expect(await read(store, id, EMAIL)).toBeNull()
      expect(
        (await store.listForPerson(await personKeyOf(EMAIL))).some((s) => s.handle === handle),
      ).toBe(false)
    })

    it('revoking a person ends every session made until then, for good; later ones live', async () => {
      const store = makeStore()
      const email = `${randomToken(6)}@example.com`
      const [early, later] = [randomToken(), randomToken()]
      const stored = record({ email, createdAt: Date.now() - 1000 })
      await store.put(early, stored)
      expect(await store.revokePerson(await personKeyOf(email))).toBe(1)
      expect(await read(store, early, email)).toBeNull()
      // A refresh that read the session before the revocation writes it back: still ended.
      await store.refresh(early, { ...stored, lastSeenAt: Date.now() })
      expect(await read(store, early, email)).toBeNull()
      await new Promise((resolve) => setTimeout(resolve, 5))
      await store.put(later, record({ email, createdAt: Date.now() }))
      expect(await read(store, later, email)).not.toBeNull()
      expect(await store.listForPerson(await personKeyOf(email))).toHaveLength(1)
    })

    it('ending a connection ends its sessions for good; others, and later ones, live', async () => {
      const store = makeStore()
      const connectionId = `conn_${randomToken(8)}`
      const sso = (email: string, connection = connectionId) =>
        record({
          email,
          method: 'sso',
          organizationId: 'org_TEST',
          connectionId: connection,
          roles: ['member'],
          groups: [],
          createdAt: Date.now() - 1000,
        })
      const [ann, bob] = [`${randomToken(6)}@example.com`, `${randomToken(6)}@example.com`]
      const [annSso, bobSso, annOther, annPlain] = [
        randomToken(),
        randomToken(),
        randomToken(),
        randomToken(),
      ]
      const annRecord = sso(ann)
      await store.put(annSso, annRecord)
      await store.put(bobSso, sso(bob))
      await store.put(annOther, sso(ann, `conn_${randomToken(8)}`))
      await store.put(annPlain, record({ email: ann }))
      expect(await store.endConnection(connectionId)).toBe(2)
      expect(await read(store, annSso, ann)).toBeNull()
      expect(await read(store, bobSso, bob)).toBeNull()
      // A refresh that read the session before the end writes it back: still ended.
      await store.refresh(annSso, { ...annRecord, lastSeenAt: Date.now() })
      expect(await read(store, annSso, ann)).toBeNull()
      expect(await read(store, annOther, ann)).not.toBeNull()
      expect(await read(store, annPlain, ann)).not.toBeNull()
      expect(await store.listForPerson(await personKeyOf(ann))).toHaveLength(2)
      // Ending it again finds nothing more; a session made after the end (the connection
      // activated again) lives.
      expect(await store.endConnection(connectionId)).toBe(0)
      await new Promise((resolve) => setTimeout(resolve, 5))
      const later = randomToken()
      await store.put(later, { ...sso(ann), createdAt: Date.now() })
      expect(await read(store, later, ann)).not.toBeNull()
    })

    it('a rewrite (new roles) is what the next read answers', async () => {
      const store = makeStore()
      const id = randomToken()
      const email = `${randomToken(6)}@example.com`
      await store.put(
        id,
        record({ email, method: 'sso', organizationId: 'org_T', roles: ['admin'] }),
      )
      const [listed] = await store.listForPerson(await personKeyOf(email))
      await store.rewriteByHandle(listed!.handle, { ...listed!.record, roles: ['member'] })
      expect((await read(store, id, email))?.roles).toEqual(['member'])
    })

    it('maps a WorkOS user id to its person', async () => {
      const store = makeStore()
      const userId = `user_${randomToken(8)}`
      expect(await store.personForUserId(userId)).toBeNull()
      await store.rememberUserId(userId, 'person-key', Date.now() + 3600_000)
      expect(await store.personForUserId(userId)).toBe('person-key')
    })

    it('answers from memory only what get would, and never a session that ended', async () => {
      const store = makeStore()
      const id = randomToken()
      const email = `${randomToken(6)}@example.com`
      const person = await personKeyOf(email)
      const stored = record({ email })
      // Nothing read yet: nothing to answer from memory.
      expect(store.cached(id, person)).toBeUndefined()
      await store.put(id, stored)
      expect(await store.get(id, person)).toEqual(stored)
      expect([undefined, stored]).toContainEqual(store.cached(id, person))
      // A cookie naming another person gets no answer from memory either.
      expect(store.cached(id, await personKeyOf(`x${email}`))).toBeUndefined()
      // Past its end the memory says ended (or nothing), never live.
      expect([undefined, null]).toContain(store.cached(id, person, stored.expiresAt + 1))
      await store.revokePerson(person)
      expect([undefined, null]).toContain(store.cached(id, person))
      const other = randomToken()
      await new Promise((resolve) => setTimeout(resolve, 5))
      await store.put(other, record({ email, createdAt: Date.now() }))
      expect(await store.get(other, person)).not.toBeNull()
      await store.delete(other)
      expect([undefined, null]).toContain(store.cached(other, person))
    })

    it('reads a session by its handle as get does: null once ended, or for another person', async () => {
      const store = makeStore()
      const id = randomToken()
      const email = `${randomToken(6)}@example.com`
      const person = await personKeyOf(email)
      const stored = record({ email })
      await store.put(id, stored)
      const handle = await sha256(id)
      expect(await store.getByHandle(handle, person)).toEqual(stored)
      expect(await store.getByHandle(handle, await personKeyOf(`x${email}`))).toBeNull()
      expect(await store.getByHandle(await sha256(randomToken()), person)).toBeNull()
      await store.delete(id)
      expect(await store.getByHandle(handle, person)).toBeNull()
    })

    it('keeps sessions apart', async () => {
      const store = makeStore()
      const [a, b] = [randomToken(), randomToken()]
      await store.put(a, record({ email: 'a@example.com' }))
      await store.put(b, record({ email: 'b@example.com' }))
      expect((await read(store, a, 'a@example.com'))?.email).toBe('a@example.com')
      expect((await read(store, b, 'b@example.com'))?.email).toBe('b@example.com')
      // A cookie naming another person opens nothing.
      expect(await read(store, a, 'b@example.com')).toBeNull()
    })
  })
}
