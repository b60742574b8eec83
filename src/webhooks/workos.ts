import type { AppContext } from '../app-env'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { GatewayError } from '../errors'
import { log } from '../log'
import { workosClient } from '../workos'
import { applyOnce } from './apply-event'

// WorkOS signs each delivery: `WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256 of "t.body">`.
const TOLERANCE_MS = 3 * 60 * 1000

const eventSchema = z.object({
  id: z.string(),
  event: z.string(),
  data: z.unknown(),
  // ISO 8601; every WorkOS event has one, and state changes are applied in its order.
  created_at: z.string(),
})

const refused = (message: string) => new GatewayError(400, 'invalid_webhook', message)

/**
 * POST /auth/webhooks/workos — WorkOS events that change who a person is or what they may do:
 * users (user-events.ts), SSO connections (connection-events.ts), organization memberships
 * (membership-events.ts) and the directory (directory-events.ts). The signature is checked with
 * the SDK's webhook verification; a bad signature, a stale or future timestamp, or an event
 * already applied, is refused with 400 and changes nothing. An event that sets state and is older
 * (by its `created_at`) than one applied about the same membership or user is acknowledged and
 * changes nothing (event-order.ts).
 */
export async function workosWebhook(c: AppContext) {
  const config = c.get('config')
  if (!config.webhookSecret) throw new GatewayError(404, 'not_found', 'Not found.')
  const signature = c.req.header('workos-signature')
  if (!signature || signature.length > 512) throw refused('The WorkOS-Signature header is missing.')
  const timestamp = Number(/t=(\d+)/.exec(signature)?.[1])
  // The SDK refuses stale timestamps; one from the future is refused here too.
  if (!Number.isFinite(timestamp) || timestamp > Date.now() + TOLERANCE_MS)
    throw refused('The signature timestamp is not valid.')
  const payload = await c.req.text()

  try {
    // The SDK's own check: HMAC-SHA256 over "t.body", compared in constant time, and the age.
    await workosClient(config).webhooks.verifyHeader({
      payload,
      sigHeader: signature,
      secret: config.webhookSecret,
      tolerance: TOLERANCE_MS,
    })
  } catch {
    log({ event: 'webhook_refused', outcome: 'bad_signature' })
    throw refused('The signature does not match, or it is too old.')
  }
  // Parsed here rather than by the SDK's constructEvent, which throws on event types it does
  // not know; only the fields acted on are read, and validated.
  let event: z.infer<typeof eventSchema>
  try {
    event = eventSchema.parse(JSON.parse(payload))
  } catch {
    throw refused('The event body is not a WorkOS event.')
  }
  const at = Date.parse(event.created_at)
  if (!Number.isFinite(at)) throw refused('The event body is not a WorkOS event.')

  if ((await applyOnce(c, { ...event, at })) === 'already_applied') {
    log({ event: 'webhook_refused', outcome: 'replayed' })
    throw refused('This event was already received.')
  }
  return c.json({ received: true })
}
