import type { Context } from 'hono'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { GatewayError } from '../errors'
import { log } from '../log'
import { sessionStore } from '../session/current'
import { revokeAllForPerson } from '../session/revoke'
import { personKeyOf } from '../session/store'
import { sha256 } from '../crypto'
import { workosClient } from '../workos'

// WorkOS signs each delivery: `WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256 of "t.body">`.
const TOLERANCE_MS = 3 * 60 * 1000
const REPLAY_MEMORY_SECONDS = 10 * 60

const eventSchema = z.object({ id: z.string(), event: z.string(), data: z.unknown() })
const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  first_name: z.optional(z.nullable(z.string())),
  last_name: z.optional(z.nullable(z.string())),
})

const refused = (message: string) => new GatewayError(400, 'invalid_webhook', message)

/**
 * POST /auth/webhooks/workos — WorkOS events that change who a person is:
 * `user.deleted` ends every session of that person; `user.updated` ends them when the email
 * changed, and otherwise updates the names the sessions carry. The signature is checked with the
 * SDK's webhook verification; a bad signature, a stale or future timestamp, or an event already
 * applied, is refused with 400 and changes nothing.
 */
export async function workosWebhook(c: Context) {
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

  // Each event is applied once: the marker is keyed on the event id (the header can be re-spaced
  // and still verify) and written after the event is applied, so a delivery that failed midway
  // can be redelivered.
  const kv = c.env.SESSIONS as KVNamespace
  const replayKey = `webhook:${await sha256(event.id)}`
  if ((await kv.get(replayKey)) !== null) {
    log({ event: 'webhook_refused', outcome: 'replayed' })
    throw refused('This event was already received.')
  }

  const store = sessionStore(c)
  const user = userSchema.safeParse(event.data)
  if ((event.event === 'user.deleted' || event.event === 'user.updated') && user.success) {
    const { id, email, first_name: firstName, last_name: lastName } = user.data
    const newPerson = await personKeyOf(email)
    const knownPerson = await store.personForUserId(id)
    let revoked = 0
    if (event.event === 'user.deleted') {
      revoked += await revokeAllForPerson(store, newPerson)
      if (knownPerson && knownPerson !== newPerson)
        revoked += await revokeAllForPerson(store, knownPerson)
    } else if (knownPerson && knownPerson !== newPerson) {
      // The email changed: the sessions were made for someone this user no longer is.
      revoked += await revokeAllForPerson(store, knownPerson)
    } else {
      for (const { handle, record } of await store.listForPerson(newPerson)) {
        if (record.userId !== id) continue
        await store.rewriteByHandle(handle, {
          ...record,
          firstName: firstName ?? null,
          lastName: lastName ?? null,
        })
      }
    }
    log({ event: 'webhook_applied', type: event.event, revoked })
  } else {
    log({ event: 'webhook_ignored', type: event.event })
  }
  await kv.put(replayKey, '1', { expirationTtl: REPLAY_MEMORY_SECONDS })
  return c.json({ received: true })
}
