// What POST /audit_logs/events received, and the answers its idempotency keys hold. No Node
// imports, so tests inside workerd can check retention and key expiry directly.

/** One accepted event, as GET /__audit_logs lists it. */
export interface ReceivedAuditEvent {
  organization_id: string
  /** The event exactly as it was posted (snake_case, as on the wire). */
  event: Record<string, unknown>
  idempotency_key: string | null
  received_at: string
}

/** What a request with an Idempotency-Key gets back from the store. */
export type KeyLookup =
  { kind: 'new' } | { kind: 'replay'; status: 201; body: { success: true } } | { kind: 'conflict' }

interface StoredAnswer {
  /** The request body in canonical JSON: the same request, whatever its key order. */
  request: string
  at: number
  organizationId: string
}

// WorkOS documents that idempotency keys expire after 24 hours; then the same key is a new request.
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000
// Bounds memory through long load runs: the newest events, and as many keys.
export const AUDIT_LOG_CAP = 10_000

export class AuditLogStore {
  /** Newest first. */
  private received: ReceivedAuditEvent[] = []
  /** Insertion order is age order, so the oldest key is the first. */
  private answers = new Map<string, StoredAnswer>()

  /**
   * Whether a request with this key was answered before. Only accepted events store an answer: a
   * refused request (422, 404) leaves the key free, as in Stripe's idempotency, whose model
   * WorkOS's documentation follows.
   */
  lookup(key: string, body: unknown, now: number): KeyLookup {
    this.expireKeys(now)
    const stored = this.answers.get(key)
    if (!stored) return { kind: 'new' }
    if (stored.request !== canonicalJson(body)) return { kind: 'conflict' }
    return { kind: 'replay', status: 201, body: { success: true } }
  }

  record(
    organizationId: string,
    event: Record<string, unknown>,
    key: string | null,
    body: unknown,
    now: number,
  ): void {
    this.received.unshift({
      organization_id: organizationId,
      event,
      idempotency_key: key,
      received_at: new Date(now).toISOString(),
    })
    if (this.received.length > AUDIT_LOG_CAP) this.received.length = AUDIT_LOG_CAP
    if (key === null) return
    this.answers.set(key, { request: canonicalJson(body), at: now, organizationId })
    this.expireKeys(now)
  }

  /** The events received, newest first. */
  list(): readonly ReceivedAuditEvent[] {
    return this.received
  }

  /** Forgets the events and keys of one organization, or of all. */
  clear(organizationId?: string): void {
    if (organizationId === undefined) {
      this.received = []
      this.answers.clear()
      return
    }
    this.received = this.received.filter((event) => event.organization_id !== organizationId)
    for (const [key, answer] of this.answers)
      if (answer.organizationId === organizationId) this.answers.delete(key)
  }

  private expireKeys(now: number): void {
    for (const [key, answer] of this.answers) {
      if (answer.at > now - IDEMPOTENCY_KEY_TTL_MS && this.answers.size <= AUDIT_LOG_CAP) break
      this.answers.delete(key)
    }
  }
}

/** JSON with object keys sorted at every level, so two equal bodies compare equal as text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'object' && inner !== null && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  )
}
