import type { Context } from 'hono'

/** What applying one WorkOS event did: sessions ended and sessions rewritten. */
export interface Applied {
  revoked: number
  updated: number
}

/**
 * Applies one event's `data` (unparsed: each handler validates what it reads). Null when the data
 * is not the shape the event promises, or names nobody the gateway knows: nothing was changed.
 */
export type EventHandler = (c: Context, data: unknown) => Promise<Applied | null>

export const applied = (revoked: number, updated = 0): Applied => ({ revoked, updated })
