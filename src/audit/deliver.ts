import { configFor } from '../config'
import { ttlUntil } from '../kv/ttl'
import { classifyWorkosError, describeWorkosError, withDeadline, workosClient } from '../workos'
import type { AuditMessage } from './event'
import { logAudit } from './log-line'

// The queue's consumer: each message is one event, posted to WorkOS with its own idempotency key,
// so a delivery retried after a lost answer is still one event there.

/** Seconds before the n-th retry: 10 s, 20 s, 40 s … at most an hour (about 8 h over 12 tries). */
export function retryDelaySeconds(attempts: number, retryAfterSeconds?: number): number {
  const backoff = Math.min(3600, 10 * 2 ** Math.max(0, attempts - 1))
  return Math.max(backoff, Math.min(retryAfterSeconds ?? 0, 3600))
}

export async function deliverAuditEvents(
  batch: MessageBatch<AuditMessage>,
  env: Env,
): Promise<void> {
  const config = configFor(env)
  const workos = workosClient(config)
  await Promise.all(
    batch.messages.map(async (message) => {
      const { organizationId, idempotencyKey, event, once } = message.body
      try {
        // Already recorded (another isolate saw the same first access before): nothing to post.
        if (once && (await env.SESSIONS.get(once.key)) !== null) return message.ack()
        await withDeadline(
          config,
          workos.auditLogs.createEvent(
            organizationId,
            { ...event, occurredAt: new Date(event.occurredAt) },
            { idempotencyKey },
          ),
        )
        if (once) await env.SESSIONS.put(once.key, '1', { expirationTtl: ttlUntil(once.until) })
        message.ack()
      } catch (error) {
        const failure = classifyWorkosError(error)
        // WorkOS refused the event itself (an action without a registered schema, an unknown
        // organization): sending it again changes nothing. It is kept in the log instead.
        if (failure.kind === 'rejected' && failure.status !== 409) {
          logAudit(message.body, 'rejected_by_workos', describeWorkosError(error))
          message.ack()
          return
        }
        // Unreachable, slow, rate limited, or our key refused: WorkOS may take it later. After
        // the last retry the queue moves it to the dead-letter queue.
        message.retry({
          delaySeconds: retryDelaySeconds(
            message.attempts,
            failure.kind === 'rate_limited' ? failure.retryAfterSeconds : undefined,
          ),
        })
      }
    }),
  )
}

/**
 * The Worker's queue handler: the audit queue's batches are delivered to WorkOS, the dead-letter
 * queue's (its name ends in "-dlq") go to the log.
 */
export async function consumeAuditQueue(batch: MessageBatch, env: Env): Promise<void> {
  const audit = batch as MessageBatch<AuditMessage>
  if (batch.queue.endsWith('-dlq')) logDeadLetters(audit)
  else await deliverAuditEvents(audit, env)
}

/** The dead-letter queue's consumer: what WorkOS never took goes to the log, marked. */
function logDeadLetters(batch: MessageBatch<AuditMessage>): void {
  for (const message of batch.messages) {
    logAudit(message.body, 'dead_letter', { attempts: message.attempts })
    message.ack()
  }
}
