import { maskEmail } from '../log'
import type { AuditEvent } from './event'

/** Why an event went to the log and not (or not yet) to WorkOS. */
export type LoggedBecause =
  'no_organization' | 'no_queue' | 'queue_refused' | 'rejected_by_workos' | 'dead_letter'

/**
 * An audit event as a log line of its own, marked `audit`: where events go that WorkOS cannot
 * take, so that none is lost silently. Email addresses (a person's name, the actor of a
 * refused sign-in) are masked, as in every log line; ids and the rest of the event are kept.
 */
export function logAudit(
  message: { organizationId: string | undefined; idempotencyKey: string; event: AuditEvent },
  because: LoggedBecause,
  details: Record<string, unknown> = {},
): void {
  const { event } = message
  const masked = (name: string | undefined) =>
    name === undefined ? undefined : name.includes('@') ? maskEmail(name) : name
  console.log(
    JSON.stringify({
      time: new Date().toISOString(),
      audit: true,
      because,
      ...details,
      organizationId: message.organizationId,
      idempotencyKey: message.idempotencyKey,
      event: {
        ...event,
        actor: { ...event.actor, id: masked(event.actor.id), name: masked(event.actor.name) },
        targets: event.targets.map((target) => ({
          ...target,
          id: masked(target.id),
          name: masked(target.name),
        })),
      },
    }),
  )
}
