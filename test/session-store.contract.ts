import { describe, expect, it } from 'vitest'
import { randomToken } from '../src/crypto'
import type { SessionRecord } from '../src/session/record'
import type { SessionStore } from '../src/session/store'

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
      ip: '203.0.113.1',
      userAgent: 'test',
      ...overrides,
    }
  }

  describe(`SessionStore contract: ${name}`, () => {
    it('returns what was put', async () => {
      const store = makeStore()
      const id = randomToken()
      const stored = record()
      await store.put(id, stored)
      expect(await store.get(id)).toEqual(stored)
    })

    it('returns null for an unknown id', async () => {
      expect(await makeStore().get(randomToken())).toBeNull()
    })

    it('returns null once expiresAt has passed', async () => {
      const store = makeStore()
      const id = randomToken()
      const stored = record({ expiresAt: Date.now() + 1000 })
      await store.put(id, stored)
      expect(await store.get(id, Date.now())).not.toBeNull()
      expect(await store.get(id, Date.now() + 2000)).toBeNull()
    })

    it('forgets a deleted session, and deleting twice is fine', async () => {
      const store = makeStore()
      const id = randomToken()
      await store.put(id, record())
      await store.delete(id)
      expect(await store.get(id)).toBeNull()
      await store.delete(id)
    })

    it('keeps sessions apart', async () => {
      const store = makeStore()
      const [a, b] = [randomToken(), randomToken()]
      await store.put(a, record({ email: 'a@example.com' }))
      await store.put(b, record({ email: 'b@example.com' }))
      expect((await store.get(a))?.email).toBe('a@example.com')
      expect((await store.get(b))?.email).toBe('b@example.com')
    })
  })
}
