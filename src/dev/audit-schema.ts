// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'

const entity = z.looseObject({ type: z.string(), id: z.string(), name: z.optional(z.string()) })

/**
 * What the emulator's /__audit_logs answers: the audit events it accepted, newest first. Loose, so
 * the JSON route passes on every field it kept (context, version, the actor's metadata).
 */
export const auditLogSchema = z.object({
  events: z.array(
    z.looseObject({
      organization_id: z.string(),
      event: z.looseObject({
        action: z.string(),
        occurred_at: z.string(),
        actor: entity,
        targets: z.array(entity),
        metadata: z.optional(z.record(z.string(), z.unknown())),
      }),
      idempotency_key: z.nullable(z.string()),
      received_at: z.string(),
    }),
  ),
})

export type ReceivedAuditEvent = z.infer<typeof auditLogSchema>['events'][number]
