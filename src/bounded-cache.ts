/**
 * A Map for an in-isolate cache, emptied when it is full: an isolate lives for many requests, and
 * what it remembers (hashes, verified cookies, assertions, lookups) must not grow without end.
 * Emptying costs nothing per hit and needs no bookkeeping, where evicting the least recently used
 * would; a busy isolate refills what it still needs at one miss each.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super()
  }

  override set(key: K, value: V): this {
    if (this.size >= this.limit) this.clear()
    return super.set(key, value)
  }
}
