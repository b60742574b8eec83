// What the gateway queues for the audit trail, seen from a test: a recorder in the AUDIT_EVENTS
// binding's place, and the Worker's own consumer given a batch as the queue would give it.
import { env } from 'cloudflare:workers'
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import worker from '../src/index'

/** An audit message as the gateway queues it on AUDIT_EVENTS. */
export interface Queued {
  organizationId: string
  idempotencyKey: string
  event: {
    action: string
    occurredAt: string
    actor: { type: string; id: string; name?: string }
    targets: { type: string; id: string; name?: string }[]
    context: { location: string; userAgent?: string }
    metadata: Record<string, string | number | boolean>
  }
  once?: { key: string; until: number }
}

/**
 * The real queue binding's place taken by a recorder (as controlledKv stands in for KV): every
 * message the gateway would send is kept here, so a test counts exactly what one request queued.
 */
export function holdingQueue() {
  const held: Queued[] = []
  const binding = {
    send: async (body: unknown) => {
      held.push(structuredClone(body) as Queued)
    },
    sendBatch: async (messages: Iterable<MessageSendRequest>) => {
      for (const message of messages) held.push(structuredClone(message.body) as Queued)
    },
  }
  return { held, binding }
}

/** The Worker's own consumer given these messages as one batch, as the queue would. */
export async function deliverBatch(bodies: unknown[]) {
  const batch = createMessageBatch(
    'gateway-audit',
    bodies.map((body, i) => ({ id: `message-${i}`, timestamp: new Date(), attempts: 1, body })),
  )
  const ctx = createExecutionContext()
  await worker.queue(batch, env)
  return getQueueResult(batch, ctx)
}
