import type { AppContext } from '../app-env'
import { webhookReplayKey } from '../kv/keys'
import { audit } from '../audit/record'
import { log } from '../log'
import { connectionEnded } from './connection-events'
import { directoryGroupUserRemoved, directoryUserDeleted } from './directory-events'
import type { EventHandler } from './event'
import { membershipDeleted, membershipUpdated } from './membership-events'
import { userDeleted, userUpdated } from './user-events'

// One way a WorkOS event is applied, whether it came as a webhook (workos.ts) or was read back
// from the Events API because its webhook never arrived (recover-events.ts).

/** The events the gateway acts on; any other is accepted and ignored. */
const HANDLERS: Record<string, EventHandler> = {
  'user.deleted': userDeleted,
  'user.updated': userUpdated,
  'connection.deactivated': connectionEnded,
  'connection.deleted': connectionEnded,
  'organization_membership.deleted': membershipDeleted,
  'organization_membership.updated': membershipUpdated,
  'dsync.user.deleted': directoryUserDeleted,
  'dsync.group.user_removed': directoryGroupUserRemoved,
}

/** The event types read back from the Events API: those the gateway acts on. */
export const HANDLED_EVENTS: readonly string[] = Object.freeze(Object.keys(HANDLERS))

/**
 * How long an applied event's id is remembered (STORAGE.md `webhook:`): past the 3-minute
 * signature tolerance, and past any time the Events API reader could lag behind a webhook that
 * did arrive (it runs every minute; a day covers a long outage of it).
 */
const REPLAY_MEMORY_SECONDS = 24 * 60 * 60

export interface WorkosEvent {
  id: string
  event: string
  data: unknown
  /** Its `created_at`, epoch ms. */
  at: number
}

/**
 * Sessions WorkOS's event ended (a user deleted, a connection or membership gone): one audit
 * event naming the WorkOS event, and whether it came as a webhook or from the events poll (the
 * Cron Trigger's job, src/scheduled.ts).
 */
function auditEndedByEvent(c: AppContext, event: WorkosEvent, revoked: number) {
  const by = c.req.path === '/auth/webhooks/workos' ? 'webhook' : 'events_poll'
  audit(c, {
    action: 'gateway.session.ended',
    actor: { type: 'webhook', id: event.id, name: event.event },
    targets: [{ type: 'workos_event', id: event.id, name: event.event }],
    metadata: { by, revoked },
    once: event.id,
  })
}

/**
 * Applies an event once: the marker is keyed on the event id and written after the event is
 * applied, so a delivery that failed midway can be delivered again, and an event applied from a
 * webhook is not applied again when the Events API brings it back.
 */
export async function applyOnce(
  c: AppContext,
  event: WorkosEvent,
): Promise<'applied' | 'ignored' | 'already_applied'> {
  const kv = c.env.SESSIONS
  const replayKey = await webhookReplayKey(event.id)
  if ((await kv.get(replayKey)) !== null) return 'already_applied'
  const handler = Object.hasOwn(HANDLERS, event.event) ? HANDLERS[event.event] : undefined
  const outcome = handler ? await handler(c, event.data, { at: event.at }) : null
  if (outcome) log({ event: 'webhook_applied', type: event.event, ...outcome })
  if (outcome && outcome.revoked > 0) auditEndedByEvent(c, event, outcome.revoked)
  else log({ event: 'webhook_ignored', type: event.event })
  await kv.put(replayKey, '1', { expirationTtl: REPLAY_MEMORY_SECONDS })
  return outcome ? 'applied' : 'ignored'
}
