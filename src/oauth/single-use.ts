import { BoundedMap } from '../bounded-cache'

// Codes, device codes and refresh tokens are single use, but KV has no compare-and-swap: two
// uses at the same moment both read "unused" before either writes "used", and each would get
// tokens. Within one isolate (where a client and a thief racing it usually meet: the same
// location), the first use claims the secret here, with no await between its check and the
// claim, so the second is known for a replay. Across locations the race stays (README "Tokens").

/** A use in flight, or done, of one secret in this isolate. */
export interface Claim {
  /** Set by a second use: the first must not hand out what it made. */
  replayed: boolean
  /** The grant the first use made, once it did: a later second use ends it. */
  grantHandle?: string
}

const claims = new BoundedMap<string, Claim>(10_000)

/**
 * The first use's claim on `secret`, or, for any later use in this isolate, the first's claim
 * marked replayed (`first: false`).
 */
export function claimSingleUse(secret: string): { first: boolean; claim: Claim } {
  const held = claims.get(secret)
  if (held) {
    held.replayed = true
    return { first: false, claim: held }
  }
  const claim: Claim = { replayed: false }
  claims.set(secret, claim)
  return { first: true, claim }
}

/** A use that failed before spending the secret (KV could not answer): it may be tried again. */
export const releaseClaim = (secret: string): void => {
  claims.delete(secret)
}
