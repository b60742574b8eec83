import type { AppContext } from '../app-env'

/** What applying one WorkOS event did: sessions ended and sessions rewritten. */
export interface Applied {
  revoked: number
  updated: number
}

/** What a handler knows of the event besides its data. */
export interface EventMeta {
  /** When WorkOS made the event (its `created_at`, epoch ms): the order state changes apply in. */
  at: number
}

/**
 * Applies one event's `data` (unparsed: each handler validates what it reads). Null when the data
 * is not the shape the event promises, names nobody the gateway knows, or is older than what was
 * applied already (event-order.ts): nothing was changed.
 */
export type EventHandler = (
  c: AppContext,
  data: unknown,
  event: EventMeta,
) => Promise<Applied | null>

export const applied = (revoked: number, updated = 0): Applied => ({ revoked, updated })
