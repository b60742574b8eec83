import { describe, expect, it } from 'vitest'
import { randomToken, sha256 } from '../src/crypto'
import {
  clientIdOf,
  idOfClientId,
  isServiceTokenId,
  type ServiceTokenStore,
} from '../src/service-tokens/store'

/** What every ServiceTokenStore must do. Run it against each implementation. */
export function serviceTokenStoreContract(name: string, makeStore: () => ServiceTokenStore) {
  // Names need not be unique, and other tests' tokens may share the store: each test lists only
  // the tokens it made.
  const mine = async (store: ServiceTokenStore, ids: string[], now?: number) =>
    (await store.list(now)).filter((token) => ids.includes(token.record.id))

  describe(`ServiceTokenStore contract: ${name}`, () => {
    it('creates a token whose secret is shown once and stored only as its SHA-256', async () => {
      const store = makeStore()
      const before = Date.now()
      const { record, clientSecret } = await store.create({ name: 'ci-bot' })
      expect(isServiceTokenId(record.id)).toBe(true)
      expect(idOfClientId(clientIdOf(record.id))).toBe(record.id)
      expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(record).toEqual({
        v: 1,
        id: record.id,
        name: 'ci-bot',
        secretHash: await sha256(clientSecret),
        createdAt: record.createdAt,
        expiresAt: null,
      })
      expect(record.createdAt).toBeGreaterThanOrEqual(before)
      expect(JSON.stringify(await store.get(record.id))).not.toContain(clientSecret)
    })

    it('returns what was created, with no use yet; null for an unknown id', async () => {
      const store = makeStore()
      const { record } = await store.create({ name: 'deploy', expiresInSeconds: 3600 })
      expect(record.expiresAt).toBe(record.createdAt + 3600_000)
      expect(await store.get(record.id)).toEqual({ record, lastUsedAt: null })
      expect(await store.get(`svc_${randomToken(15)}`)).toBeNull()
    })

    it('notes a use apart from the record, which nothing rewrites', async () => {
      const store = makeStore()
      const { record } = await store.create({ name: 'ci-bot' })
      const at = Date.now()
      await store.touch(record.id, at, record.expiresAt)
      expect(await store.get(record.id)).toEqual({ record, lastUsedAt: at })
    })

    it('lists live tokens oldest first, same names apart, expired ones left out', async () => {
      const store = makeStore()
      const first = await store.create({ name: 'ci-bot' })
      await new Promise((resolve) => setTimeout(resolve, 5))
      const second = await store.create({ name: 'ci-bot' })
      const ids = [first.record.id, second.record.id]
      expect(first.record.id).not.toBe(second.record.id)
      expect((await mine(store, ids)).map((token) => token.record.id)).toEqual(ids)
      const expiring = await store.create({ name: 'short', expiresInSeconds: 60 })
      const all = [...ids, expiring.record.id]
      expect(await mine(store, all)).toHaveLength(3)
      // Past its expiry a token is gone from the listing, whatever KV still holds.
      expect(await mine(store, all, Date.now() + 61_000)).toHaveLength(2)
    })

    it('revokes for good: not read, not listed, not brought back by a late use', async () => {
      const store = makeStore()
      const { record } = await store.create({ name: 'ci-bot' })
      // Read first, so a store that caches has it cached.
      expect(await store.get(record.id)).not.toBeNull()
      expect(await store.revoke(record.id)).toBe(true)
      expect(await store.get(record.id)).toBeNull()
      // A last-use note written in the background after the revocation.
      await store.touch(record.id, Date.now(), record.expiresAt)
      expect(await store.get(record.id)).toBeNull()
      expect(await mine(store, [record.id])).toEqual([])
      // A second revocation finds nothing; so does one of an id never made.
      expect(await store.revoke(record.id)).toBe(false)
      expect(await store.revoke(`svc_${randomToken(15)}`)).toBe(false)
    })

    it('a revocation is final at once for every store of this isolate', async () => {
      const [reader, revoker] = [makeStore(), makeStore()]
      const { record } = await reader.create({ name: 'ci-bot' })
      expect(await reader.get(record.id)).not.toBeNull()
      await revoker.revoke(record.id)
      expect(await reader.get(record.id)).toBeNull()
    })

    it('keeps tokens apart', async () => {
      const store = makeStore()
      const a = await store.create({ name: 'a' })
      const b = await store.create({ name: 'b' })
      expect((await store.get(a.record.id))?.record.name).toBe('a')
      expect((await store.get(b.record.id))?.record.name).toBe('b')
      await store.revoke(a.record.id)
      expect(await store.get(b.record.id)).toEqual({ record: b.record, lastUsedAt: null })
    })
  })
}
