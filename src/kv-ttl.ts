// KV refuses an expirationTtl below 60 s (miniflare too): every expiry is at least that, and the
// times kept in the values are what the gateway actually enforces.
export const KV_MIN_TTL_SECONDS = 60

/** Seconds from now until `ms` (epoch ms), for an expirationTtl, never under KV's minimum. */
export const ttlUntil = (ms: number) =>
  Math.max(KV_MIN_TTL_SECONDS, Math.ceil((ms - Date.now()) / 1000))
