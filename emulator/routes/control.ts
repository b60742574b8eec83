import type { Hono } from 'hono'
import { faultSchema, type FaultSwitch } from '../faults.ts'
import { DEFAULT_WEBHOOK_SECRET, type EmulatorState } from '../state.ts'
import { signDelivery } from '../webhooks.ts'

// The emulator's own switches, under /__ so they never collide with a WorkOS route:
// the mailbox, the fault switch, expiry on demand and webhook deliveries.

export function controlRoutes(app: Hono, state: EmulatorState, faults: FaultSwitch) {
  app.get('/__health', (c) => c.json({ ok: true }))

  app.get('/__mailbox', (c) => {
    const to = c.req.query('to')?.toLowerCase()
    const messages = state.mailbox
      .filter((message) => !to || message.to.toLowerCase() === to)
      .map(({ via, to, subject, link, code, sentAt }) => ({ to, subject, link, code, sentAt, via }))
    return c.json({ messages })
  })
  app.delete('/__mailbox', (c) => {
    state.mailbox = []
    return c.json({ success: true })
  })

  app.post('/__faults', async (c) => {
    const parsed = faultSchema.safeParse(await c.req.json().catch(() => null))
    if (!parsed.success) {
      return c.json(
        { message: 'Invalid fault', errors: parsed.error.issues.map((i) => i.message) },
        400,
      )
    }
    faults.arm(parsed.data)
    return c.json({ success: true, faults: faults.list() }, 201)
  })
  app.get('/__faults', (c) => c.json({ faults: faults.list() }))
  // The reset also delivers webhooks again, so a test that dropped them leaves none dropped.
  app.delete('/__faults', (c) => {
    faults.clear()
    state.webhooks.dropDeliveries = false
    return c.json({ success: true })
  })

  // Expires every link and code of one address at once, so a test can check expiry without
  // waiting 15 minutes and without disturbing tests that run beside it.
  app.post('/__expire', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { email?: unknown } | null
    const email = typeof body?.email === 'string' ? body.email.toLowerCase() : undefined
    if (!email) return c.json({ message: 'Send {"email": "<address>"}.' }, 400)
    const past = state.now() - 1
    let expired = 0
    for (const session of state.sessions.values()) {
      if (session.email.toLowerCase() === email) {
        session.expiresAt = past
        expired++
      }
    }
    for (const magicAuth of state.magicAuths.values()) {
      if (magicAuth.email.toLowerCase() === email) {
        magicAuth.expiresAt = past
        expired++
      }
    }
    for (const code of state.codes.values()) {
      if (code.email.toLowerCase() === email) {
        code.expiresAt = past
        expired++
      }
    }
    return c.json({ expired })
  })

  // Refuses sign-up (new users) for a domain, as an environment with sign-up disabled would.
  app.post('/__signup-blocked', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { domain?: unknown } | null
    if (typeof body?.domain !== 'string')
      return c.json({ message: 'Send {"domain": "<domain>"}.' }, 400)
    state.signUpBlockedDomains.add(body.domain.toLowerCase())
    return c.json({ success: true }, 201)
  })

  // Signed webhook deliveries, newest first. Filters, all optional and combined: ?user=<id> (a
  // user's id, a membership's user_id, a directory user's id), ?email=, ?organization=<org id>,
  // ?connection=<conn id>, ?event=<type>.
  app.get('/__webhooks', (c) => {
    const { user, email, organization, connection, event } = c.req.query()
    return c.json({
      deliveries: state.webhooks.deliveries.filter(
        (d) =>
          (!user || d.userId === user) &&
          (!email || d.email?.toLowerCase() === email.toLowerCase()) &&
          (!organization || d.organizationId === organization) &&
          (!connection || d.connectionId === connection) &&
          (!event || d.event === event),
      ),
    })
  })
  // {"drop": true} loses every webhook from now on, as if in transit: the event is still in
  // GET /events (WorkOS has it) but neither listed above nor posted to the dev endpoint.
  // {"drop": false} (or DELETE /__faults) delivers again.
  app.get('/__webhooks/delivery', (c) => c.json({ drop: state.webhooks.dropDeliveries }))
  app.post('/__webhooks/delivery', async (c) => {
    const body: unknown = await c.req.json().catch(() => null)
    const valid =
      typeof body === 'object' &&
      body !== null &&
      !Array.isArray(body) &&
      Object.keys(body).length === 1 &&
      typeof (body as { drop?: unknown }).drop === 'boolean'
    if (!valid) return c.json({ message: 'Send {"drop": true} or {"drop": false}.' }, 400)
    state.webhooks.dropDeliveries = (body as { drop: boolean }).drop
    return c.json({ drop: state.webhooks.dropDeliveries })
  })
  // Signs any event, for tests of events the emulator does not emit by itself.
  app.post('/__webhooks/sign', async (c) => {
    const body = (await c.req.json().catch(() => null)) as {
      event?: unknown
      data?: unknown
      at?: unknown
    } | null
    if (typeof body?.event !== 'string' || typeof body.data !== 'object' || body.data === null)
      return c.json({ message: 'Send {"event": "<type>", "data": {…}, "at"?: <ms>}.' }, 400)
    const at = typeof body.at === 'number' ? body.at : Date.now()
    return c.json(
      signDelivery(
        state.options.webhookSecret ?? DEFAULT_WEBHOOK_SECRET,
        body.event,
        body.data as Record<string, unknown>,
        at,
      ),
    )
  })
}
