import { withinMs } from '../deadline'
import type { SocketGrant } from './grant'

/** Why the gateway ends a socket's grant. */
export type GrantEnd =
  /** The session (or service token) reached its absolute end. */
  | 'expired'
  /** A re-check answered no: signed out, revoked, ended by a webhook, or the policy now refuses. */
  | 'revoked'
  /** Re-checks kept failing (KV down or hanging) for too long to go on trusting the grant. */
  | 'unverifiable'

/**
 * How long a socket may run on a grant that could not be re-checked, when re-checks keep failing:
 * the same 60 s that the README ("WebSockets") allows between a session's end and its socket's.
 */
export const UNVERIFIED_LIMIT_MS = 60_000

/**
 * The rule for a failed re-check (KV threw or did not answer within one interval). A single failure
 * never closes a socket: KV blips are common, and closing every socket on one would make each
 * client reconnect at once, into the same failing KV. The socket is closed at the first failure
 * that is at least the second in a row *and* comes at least UNVERIFIED_LIMIT_MS after the last
 * successful check, so a socket runs unverified for at most max(60 s, two intervals) plus one
 * re-check's time out.
 */
export function givesUpOnGrant(consecutiveFailures: number, sinceVerifiedMs: number): boolean {
  return consecutiveFailures >= 2 && sinceVerifiedMs >= UNVERIFIED_LIMIT_MS
}

// setTimeout holds a signed 32-bit delay; a longer one fires at once. Long waits are chained.
const LONGEST_TIMER_MS = 2 ** 31 - 1

/**
 * Watches an open socket's grant: a timer for its absolute end, and a re-check every `recheckMs`
 * (past every cache, through `stillAllowed`). Calls `onEnd` at most once; the returned function
 * stops every timer and must be called when the socket closes for any reason.
 */
export function watchGrant(
  grant: Pick<SocketGrant, 'endsAt' | 'stillAllowed'>,
  recheckMs: number,
  onEnd: (why: GrantEnd) => void,
): () => void {
  let stopped = false
  let endTimer: ReturnType<typeof setTimeout> | null = null
  let checking = false
  let failures = 0
  let verifiedAt = Date.now()

  const stop = () => {
    stopped = true
    clearTimeout(endTimer)
    clearInterval(recheck)
  }
  const end = (why: GrantEnd) => {
    if (stopped) return
    stop()
    onEnd(why)
  }

  const armEndTimer = () => {
    if (stopped || grant.endsAt === undefined) return
    const wait = grant.endsAt - Date.now()
    if (wait <= 0) return end('expired')
    endTimer = setTimeout(armEndTimer, Math.min(wait, LONGEST_TIMER_MS))
  }

  const recheck = setInterval(async () => {
    // A check still waiting (it has until its time out) is not doubled up.
    if (checking || stopped) return
    checking = true
    try {
      const allowed = await withinMs(grant.stillAllowed(), recheckMs)
      if (!allowed) return end('revoked')
      failures = 0
      verifiedAt = Date.now()
    } catch {
      failures += 1
      if (givesUpOnGrant(failures, Date.now() - verifiedAt)) end('unverifiable')
    } finally {
      checking = false
    }
  }, recheckMs)

  armEndTimer()
  return stop
}
