import type { Context, Hono } from 'hono'
import { apiError } from '../errors.ts'
import type { EmulatorState } from '../state.ts'
import type { LoggedEvent } from '../event-log.ts'

// WorkOS's Events API, GET /events (bearer API key): every event the emulator emitted, the same
// id, type, data and created_at as its webhook, whether or not the webhook was delivered. The
// official SDK's events.listEvents sends `events` comma-joined (its query string is
// URLSearchParams of an array); repeated `events=` and `events[]=` are accepted too.

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/

class InvalidParameter extends Error {
  readonly field: string
  constructor(field: string, message: string) {
    super(message)
    this.field = field
  }
}

const invalid = (c: Context, error: InvalidParameter) =>
  apiError(c, 422, {
    message: error.message,
    code: 'invalid_request_parameters',
    errors: [{ field: error.field, code: error.message }],
  })

/** The event types asked for; WorkOS has no "every event" listing, so at least one is required. */
function eventTypes(c: Context): Set<string> {
  const types = [...(c.req.queries('events') ?? []), ...(c.req.queries('events[]') ?? [])]
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean)
  if (types.length === 0)
    throw new InvalidParameter('events', 'events is required: one or more event types.')
  return new Set(types)
}

function limitOf(c: Context): number {
  const text = c.req.query('limit')
  if (text === undefined) return 10
  const limit = /^\d+$/.test(text) ? Number(text) : NaN
  if (!(limit >= 1 && limit <= 100))
    throw new InvalidParameter('limit', 'limit must be an integer between 1 and 100.')
  return limit
}

// asc by default here, where WorkOS documents desc: the data-syncing guide reads the log forward,
// passing the last event's id as `after`, and that is how the gateway reads it.
function orderOf(c: Context): 'asc' | 'desc' {
  const order = c.req.query('order') ?? 'asc'
  if (order !== 'asc' && order !== 'desc')
    throw new InvalidParameter('order', "order must be 'asc' or 'desc'.")
  return order
}

function timeOf(c: Context, field: 'range_start' | 'range_end'): number | undefined {
  const text = c.req.query(field)
  if (text === undefined) return undefined
  const ms = ISO_8601.test(text) ? Date.parse(text) : NaN
  if (!Number.isFinite(ms)) throw new InvalidParameter(field, `${field} must be an ISO 8601 date.`)
  return ms
}

/**
 * The position of a cursor in the whole log (not in the filtered list: a cursor from another
 * filter still names a place in time). Assumption: WorkOS refuses an id it does not know (or no
 * longer keeps) with 422 rather than listing from the start, which would replay old events.
 */
function cursorOf(
  c: Context,
  log: readonly LoggedEvent[],
  field: 'after' | 'before',
): number | undefined {
  const id = c.req.query(field)
  if (id === undefined) return undefined
  const index = log.findIndex((entry) => entry.json.id === id)
  if (index === -1) throw new InvalidParameter(field, `${field} names no event: '${id}'.`)
  return index
}

export function eventRoutes(app: Hono, state: EmulatorState) {
  app.get('/events', (c) => {
    const log = state.webhooks.events.list(state.now())
    let query
    try {
      query = {
        types: eventTypes(c),
        limit: limitOf(c),
        order: orderOf(c),
        start: timeOf(c, 'range_start'),
        end: timeOf(c, 'range_end'),
        after: cursorOf(c, log, 'after'),
        before: cursorOf(c, log, 'before'),
        organizationId: c.req.query('organization_id'),
      }
      if (query.start !== undefined && query.after !== undefined)
        throw new InvalidParameter('range_start', 'range_start and after are mutually exclusive.')
      if (query.start !== undefined && query.end !== undefined && query.end < query.start)
        throw new InvalidParameter('range_end', 'range_end must not be before range_start.')
    } catch (error) {
      if (error instanceof InvalidParameter) return invalid(c, error)
      throw error
    }
    const { types, limit, order, start, end, after, before, organizationId } = query

    // range_start is inclusive and range_end exclusive, so back-to-back ranges neither miss nor
    // repeat an event.
    const matching = log
      .map((entry, index) => ({ entry, index }))
      .filter(
        ({ entry }) =>
          types.has(entry.json.event) &&
          (organizationId === undefined || entry.organizationId === organizationId) &&
          (start === undefined || entry.at >= start) &&
          (end === undefined || entry.at < end),
      )
    if (order === 'desc') matching.reverse()
    // Cursors follow the list's order, as on WorkOS's other lists: `after` is the next page (newer
    // in asc, older in desc), `before` the previous one, ending right before the cursor.
    const direction = order === 'asc' ? 1 : -1
    const between = matching.filter(
      ({ index }) =>
        (after === undefined || direction * (index - after) > 0) &&
        (before === undefined || direction * (index - before) < 0),
    )
    const page =
      before !== undefined && after === undefined ? between.slice(-limit) : between.slice(0, limit)
    const data = page.map(({ entry }) => entry.json)
    // Assumption: list_metadata.after is the last listed event's id, even on what is for now the
    // last page: the cursor the next call passes to read on. On an empty page both are null, and
    // the caller keeps the cursor it has.
    return c.json({
      object: 'list',
      data,
      list_metadata: { before: data[0]?.id ?? null, after: data.at(-1)?.id ?? null },
    })
  })
}
