// KV refuses an expirationTtl below 60 s (miniflare too): every expiry is at least that, and the
// times kept in the values are what the gateway actually enforces.
export const KV_MIN_TTL_SECONDS = 60

/** An expirationTtl of `seconds`, never under KV's minimum. */
export const ttlOf = (seconds: number) => Math.max(KV_MIN_TTL_SECONDS, seconds)

/** Seconds from now until `ms` (epoch ms), for an expirationTtl, never under KV's minimum. */
export const ttlUntil = (ms: number) => ttlOf(Math.ceil((ms - Date.now()) / 1000))

/** Put options for a value kept until `ms` (epoch ms), or for good when it is null. */
export const keptUntil = (ms: number | null): KVNamespacePutOptions =>
  ms === null ? {} : { expirationTtl: ttlUntil(ms) }
