// The log GET /events reads: every event the emulator emitted, as WorkOS keeps them. No Node
// imports, so tests inside workerd can check its retention directly.

/** An event as GET /events lists it: the webhook body, plus `object: "event"`. */
export interface EventJson {
  object: 'event'
  id: string
  event: string
  data: Record<string, unknown>
  created_at: string
}

export interface LoggedEvent {
  json: EventJson
  /** created_at in ms, for the range filters. */
  at: number
  /** The organization the event is about (webhooks.ts subjectsOf), for organization_id. */
  organizationId: string | undefined
}

// WorkOS lists events up to 30 days old; the cap keeps a long load run's memory bounded.
export const EVENT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000
export const EVENT_LOG_CAP = 10_000

/**
 * Every event emitted, oldest first. Insertion order is the creation order: workosId is random
 * after its prefix, not a time-sortable ULID, so ids cannot be sorted.
 */
export class EventLog {
  private entries: LoggedEvent[] = []

  record(entry: LoggedEvent): void {
    this.entries.push(entry)
    this.prune(entry.at)
  }

  /** The events still kept at `now`, oldest first. */
  list(now = Date.now()): readonly LoggedEvent[] {
    this.prune(now)
    return this.entries
  }

  private prune(now: number): void {
    const oldest = now - EVENT_RETENTION_MS
    const firstKept = this.entries.findIndex((entry) => entry.at >= oldest)
    if (firstKept !== 0) this.entries.splice(0, firstKept === -1 ? this.entries.length : firstKept)
    if (this.entries.length > EVENT_LOG_CAP)
      this.entries.splice(0, this.entries.length - EVENT_LOG_CAP)
  }
}
