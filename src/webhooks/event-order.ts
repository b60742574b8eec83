import { kvOrFailClosed } from '../kv/fail-closed'
import { eventAppliedKey } from '../kv/keys'
import { ttlOf } from '../kv/ttl'
import { log } from '../log'

// WorkOS does not promise to deliver events in order, and redelivers one that failed for days,
// each time with a fresh signature; the replay marker (workos.ts) only refuses an event id it saw
// in the last few minutes. An event that sets state (a membership's roles, a user's address and
// names) is therefore applied only when it is newer, by its own `created_at`, than every event
// about the same subject applied before: an older one is acknowledged and changes nothing, so a
// late "admin granted" never undoes a newer "admin taken away". Events that end things (a
// deletion) are always applied, and count as the newest state too.
//
// The newest time applied per subject is kept in KV (STORAGE.md: `event-applied:`) as long as any
// session lives: an event older than that is older than every live session, and a role grant
// never reaches a session signed in after the event (membership-events.ts). KV has no
// compare-and-set: two deliveries about one subject landing in the same moment can both read the
// old time; WorkOS sends one at a time per endpoint in practice, and a later event fixes the state.

/** What an event is about, for ordering: one membership, or one user. */
export type EventSubject =
  { kind: 'membership'; userId: string; organizationId: string } | { kind: 'user'; userId: string }

function keyFor(subject: EventSubject) {
  return eventAppliedKey(
    subject.kind === 'membership'
      ? `membership\n${subject.userId}\n${subject.organizationId}`
      : `user\n${subject.userId}`,
  )
}

async function lastApplied(kv: KVNamespace, key: string): Promise<number | null> {
  const stored = await kvOrFailClosed(() => kv.get(key, 'text'))
  const at = Number(stored)
  return stored !== null && Number.isFinite(at) ? at : null
}

/**
 * The newest event applied per subject (above), each kept for `keepSeconds`:
 * SESSION_TTL_SECONDS, as long as any session lives.
 */
export function eventOrder(kv: KVNamespace, keepSeconds: number) {
  return {
    /**
     * True when an event about `subject` made at `at` (epoch ms) is older than one already
     * applied: it is logged and must change nothing.
     */
    async isOlderThanApplied(subject: EventSubject, at: number): Promise<boolean> {
      const newest = await lastApplied(kv, await keyFor(subject))
      if (newest === null || at >= newest) return false
      log({ event: 'webhook_out_of_order', subject: subject.kind })
      return true
    },

    /** Records that an event about `subject` made at `at` was applied (never moving backwards). */
    async rememberApplied(subject: EventSubject, at: number): Promise<void> {
      const key = await keyFor(subject)
      const newest = await lastApplied(kv, key)
      if (newest !== null && newest >= at) return
      await kvOrFailClosed(() => kv.put(key, String(at), { expirationTtl: ttlOf(keepSeconds) }))
    },
  }
}
