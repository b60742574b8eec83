import { createHmac } from 'node:crypto'
import { EventLog, type EventJson } from './event-log.ts'
import { workosId } from './ids.ts'

// Signed webhook deliveries, as WorkOS makes them: the body is the event JSON, and
// `WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>`.

export interface Delivery {
  id: string
  event: string
  /**
   * Whom and what the event is about, for GET /__webhooks filters: the user (user.*: its id;
   * organization_membership.*: user_id; dsync.*: the directory user's id), its email where the
   * event carries one, the organization and the connection.
   */
  userId: string | undefined
  email: string | undefined
  organizationId: string | undefined
  connectionId: string | undefined
  body: string
  signature: string
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined)

function subjectsOf(event: string, data: Record<string, unknown>) {
  const user =
    event.startsWith('dsync.group.user_') && typeof data.user === 'object' && data.user !== null
      ? (data.user as Record<string, unknown>)
      : data
  const aboutUser = !/^(connection|organization)\./.test(event)
  return {
    userId: event.startsWith('organization_membership.')
      ? text(data.user_id)
      : aboutUser
        ? text(user.id)
        : undefined,
    email: text(user.email),
    organizationId: event.startsWith('organization.')
      ? text(data.id)
      : text(user.organization_id ?? data.organization_id),
    connectionId: event.startsWith('connection.') ? text(data.id) : text(data.connection_id),
  }
}

export function signDelivery(
  secret: string,
  event: string,
  data: Record<string, unknown>,
  at = Date.now(),
): Delivery {
  const id = workosId('event')
  const body = JSON.stringify({ id, event, data, created_at: new Date(at).toISOString() })
  const digest = createHmac('sha256', secret).update(`${at}.${body}`).digest('hex')
  return {
    id,
    event,
    ...subjectsOf(event, data),
    body,
    signature: `t=${at}, v1=${digest}`,
  }
}

export class WebhookOutbox {
  readonly deliveries: Delivery[] = []
  readonly events = new EventLog()
  /**
   * POST /__webhooks/delivery: while true an event is logged (GET /events lists it) but never
   * delivered, as if the delivery were lost in transit.
   */
  dropDeliveries = false

  private readonly secret: string
  private readonly url: string | undefined

  constructor(secret: string, url: string | undefined) {
    this.secret = secret
    this.url = url
  }

  /**
   * Logs the event for GET /events, then records a signed delivery and, when an endpoint URL is
   * configured (dev), posts it there.
   */
  emit(event: string, data: Record<string, unknown>): Delivery {
    const at = Date.now()
    const delivery = signDelivery(this.secret, event, data, at)
    const body = JSON.parse(delivery.body) as Omit<EventJson, 'object'>
    this.events.record({
      json: { object: 'event', ...body },
      at,
      organizationId: delivery.organizationId,
    })
    if (this.dropDeliveries) return delivery
    this.deliveries.unshift(delivery)
    if (this.deliveries.length > 1000) this.deliveries.length = 1000
    if (this.url) {
      fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'workos-signature': delivery.signature },
        body: delivery.body,
      }).catch((error: unknown) =>
        console.error(`webhook delivery to ${this.url} failed: ${String(error)}`),
      )
    }
    return delivery
  }
}
