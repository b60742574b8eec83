import type { AppContext } from '../app-env'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { log } from '../log'
import { authorityOf } from '../revocation/authority-client'
import { withDeadline, workosClient } from '../workos'
import { applyOnce, HANDLED_EVENTS } from './apply-event'

// Lost webhooks, recovered (README "Revocation"): a Cron Trigger reads WorkOS's Events API for the
// event types the webhooks handle, from where the last run left off, and applies each event not
// applied yet through the same handlers. A person deleted at WorkOS while webhook delivery is down
// loses access within one cron period plus REVOCATION_BOUND_SECONDS.

/** The API's largest page. */
const PAGE_SIZE = 100
/** At most this many pages a run (10,000 events); the next run goes on from there. */
const MAX_PAGES = 100
/**
 * The first run ever has no cursor: it reads this far back. Events from before the gateway read
 * any were delivered as webhooks or predate it; re-applying weeks of them would end sessions made
 * since (a deletion ends the sessions up to now).
 */
const FIRST_LOOK_BACK_MS = 15 * 60 * 1000

const listSchema = z.object({
  data: z.array(
    z.object({ id: z.string(), event: z.string(), data: z.unknown(), created_at: z.string() }),
  ),
})

export interface Recovered {
  read: number
  applied: number
}

/**
 * Reads the events after the cursor, oldest first, and applies them; the cursor (kept by the
 * revocation authority, strongly consistent) moves past each page once it is applied, so a run
 * that fails midway is taken up again by the next.
 *
 * The SDK's HTTP client is used (`get('/events')`) rather than `events.listEvents`, which turns
 * events into the SDK's camelCase objects: the handlers take the wire format a webhook carries,
 * so both paths apply the very same event the same way.
 */
export async function recoverLostEvents(c: AppContext): Promise<Recovered> {
  const config = c.get('config')
  const workos = workosClient(config)
  const authority = authorityOf(c)
  let after = await authority.eventsCursor()
  const recovered: Recovered = { read: 0, applied: 0 }
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = {
      events: HANDLED_EVENTS,
      limit: PAGE_SIZE,
      order: 'asc',
      ...(after
        ? { after }
        : { range_start: new Date(Date.now() - FIRST_LOOK_BACK_MS).toISOString() }),
    }
    const { data } = await withDeadline(config, workos.get('/events', { query }))
    const events = listSchema.parse(data).data
    for (const event of events) {
      const at = Date.parse(event.created_at)
      if (!Number.isFinite(at)) continue
      recovered.read += 1
      if ((await applyOnce(c, { ...event, at })) === 'applied') recovered.applied += 1
    }
    const last = events.at(-1)
    if (!last) break
    after = last.id
    await authority.setEventsCursor(after)
    if (events.length < PAGE_SIZE) break
  }
  log({ event: 'events_read', ...recovered })
  return recovered
}
