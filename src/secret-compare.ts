const encoder = new TextEncoder()

/** Constant-time comparison of two secrets (hashed first, so neither length leaks). */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(given)),
    crypto.subtle.digest('SHA-256', encoder.encode(expected)),
  ])
  return crypto.subtle.timingSafeEqual(a, b)
}

/**
 * The same comparison without waiting, for a check made where nothing can be awaited (the client
 * address). Compared over the expected secret's length whatever the given one's, so the time
 * depends on neither where they differ nor how long the expected one is.
 */
export function sameSecretNow(given: string, expected: string): boolean {
  const a = encoder.encode(given)
  const b = encoder.encode(expected)
  const padded = new Uint8Array(b.length)
  padded.set(a.subarray(0, b.length))
  return crypto.subtle.timingSafeEqual(padded, b) && a.length === b.length
}
