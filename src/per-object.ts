/**
 * `make` run once per object: later calls with the same object get the first result. For values
 * derived from an object that is never changed in place (a session record: a refresh makes a new
 * one), so the result cannot go stale; entries go with their object.
 */
export function perObject<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>()
  return (key) => {
    let value = made.get(key)
    if (value === undefined) {
      value = make(key)
      made.set(key, value)
    }
    return value
  }
}
