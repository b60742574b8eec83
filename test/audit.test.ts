// The audit trail: each occurrence reaches WorkOS Audit Logs (the emulator) once, through the
// AUDIT_EVENTS queue and this Worker's own consumer, with the right actor, target and rule, and
// nothing secret in it.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  ADMIN_TOKEN,
  armFault,
  clearFaults,
  cookieFrom,
  deleteAtWorkos,
  deliverWebhook,
  dropDeliveries,
  EMULATOR,
  gateway,
  gatewayWith,
  json,
  latestCode,
  runCron,
  signIn,
  signInWithCode,
  uniqueEmail,
  webhookDeliveriesFor,
} from './helpers'
import {
  ACCESS,
  LOOPBACK_REDIRECT,
  MCP,
  type Tokens,
  approvedCode,
  exchangeCode,
  mcpStatus,
  pkce,
  register,
} from './oauth-client'
import readme from '../README.md?raw'
import { AUDIT_ACTIONS } from '../src/audit/actions'
import worker from '../src/index'
import { holdingQueue } from './audit-probe'

const ORGANIZATION = (env as unknown as Record<string, string>).AUDIT_ORGANIZATION_ID!

interface Received {
  organization_id: string
  idempotency_key: string | null
  event: {
    action: string
    occurred_at: string
    actor: { type: string; id: string; name?: string }
    targets: { type: string; id: string; name?: string }[]
    context: { location: string; user_agent?: string }
    metadata?: Record<string, string | number | boolean>
  }
}

async function received(action?: string): Promise<Received[]> {
  const query = action ? `?action=${encodeURIComponent(action)}` : ''
  const answer = await fetch(`${EMULATOR}/__audit_logs${query}`)
  return ((await answer.json()) as { events: Received[] }).events
}

/** The events matching `which`, once at least `count` of them reached the emulator (≤ 5 s). */
async function eventually(which: (event: Received) => boolean, count = 1): Promise<Received[]> {
  let found: Received[] = []
  for (let attempt = 0; attempt < 100; attempt++) {
    found = (await received()).filter(which)
    if (found.length >= count) return found
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return found
}

const about = (action: string, actorId: string) => (event: Received) =>
  event.event.action === action && event.event.actor.id === actorId

afterEach(clearFaults)

describe('audit events reach WorkOS through the queue', () => {
  it('a sign-in: one gateway.sign_in.succeeded with the person, the method and the session', async () => {
    const { cookie, email } = await signInWithCode(uniqueEmail('audit-sign-in'))
    const { user, session } = (await (
      await gateway('/auth/me', { headers: { cookie } })
    ).json()) as {
      user: { id: string }
      session: { sid: string }
    }
    const me = { id: user.id, sid: session.sid }
    const events = await eventually(about('gateway.sign_in.succeeded', me.id))
    expect(events).toHaveLength(1)
    const [{ organization_id, event, idempotency_key }] = events as [Received]
    expect(organization_id).toBe(ORGANIZATION)
    expect(idempotency_key).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    )
    expect(event.actor).toEqual({ type: 'user', id: me.id, name: email })
    expect(event.targets).toEqual([{ type: 'session', id: me.sid }])
    expect(event.metadata).toMatchObject({ method: 'magic_auth', session: me.sid })
    expect(event.context.location).toMatch(/\d/)
    expect(Date.now() - Date.parse(event.occurred_at)).toBeLessThan(60_000)
  })
})

/** Who is signed in with `cookie`: the WorkOS user id and the session's handle. */
async function whoIs(cookie: string): Promise<{ id: string; sid: string }> {
  const { user, session } = (await (await gateway('/auth/me', { headers: { cookie } })).json()) as {
    user: { id: string }
    session: { sid: string }
  }
  return { id: user.id, sid: session.sid }
}

/** Nothing more arrives: what reached the emulator after a moment for the queue to deliver. */
async function settled(which: (event: Received) => boolean): Promise<Received[]> {
  await new Promise((resolve) => setTimeout(resolve, 400))
  return (await received()).filter(which)
}

const ROUTES = JSON.stringify({
  routes: [
    { name: 'reports', path: '/reports/*', deny: [{ domains: ['example.com'] }] },
    { name: 'wiki', path: '/wiki/*' },
    { name: 'app', path: '/*' },
  ],
})

describe('what each occurrence records', () => {
  it('a refused code: gateway.sign_in.failed naming the address and the reason, never the code', async () => {
    const email = uniqueEmail('audit-wrong-code')
    const asked = await gateway('/auth/magic-auth', json({ email }))
    const pending = cookieFrom(asked, '__Host-magic-auth')!
    const right = await latestCode(email)
    const wrong = right === '000000' ? '111111' : '000000'
    const refused = await gateway(
      '/auth/magic-auth/verify',
      json({ email, code: wrong }, { cookie: pending }),
    )
    expect(refused.status).toBe(400)
    const [event, ...more] = await eventually(about('gateway.sign_in.failed', email))
    expect(more).toHaveLength(0)
    expect(event!.event.targets).toEqual([{ type: 'sign_in_method', id: 'magic_auth' }])
    expect(event!.event.metadata).toMatchObject({ method: 'magic_auth', reason: 'invalid_code' })
    const recorded = JSON.stringify(event!.event)
    for (const code of [wrong, right]) expect(recorded).not.toMatch(new RegExp(`\\b${code}\\b`))
  })

  it('access refused: gateway.access.denied with the route and the rule that decided', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('audit-denied'))
    const me = await whoIs(cookie)
    const refused = await gatewayWith({ ACCESS: ROUTES }, '/reports/q3', {
      headers: { cookie, accept: 'application/json' },
    })
    expect(refused.status).toBe(403)
    const [event] = await eventually(about('gateway.access.denied', me.id))
    expect(event!.event.targets).toEqual([{ type: 'route', id: 'reports', name: '*/reports/*' }])
    expect(event!.event.metadata).toMatchObject({
      route: 'reports',
      rule: 'deny[0]',
      method: 'GET',
      via: 'proxy',
      session: me.sid,
    })
  })

  it("a session's first access to a route, not every request: one gateway.access.first_allowed per route", async () => {
    const { cookie } = await signInWithCode(uniqueEmail('audit-first'))
    const me = await whoIs(cookie)
    for (const path of ['/wiki/a', '/wiki/b', '/wiki/a', '/home', '/wiki/c']) {
      const answer = await gatewayWith({ ACCESS: ROUTES }, path, { headers: { cookie } })
      expect(answer.status).toBe(200)
      await answer.body?.cancel()
    }
    await eventually(about('gateway.access.first_allowed', me.id), 2)
    const events = await settled(about('gateway.access.first_allowed', me.id))
    expect(events.map((event) => event.event.metadata?.route).sort()).toEqual(['app', 'wiki'])
  })

  it('sign-out, and a session ended from the sessions page: who ended what', async () => {
    const email = uniqueEmail('audit-ended')
    const first = await signInWithCode(email)
    const second = await signInWithCode(email)
    const [one, two] = [await whoIs(first.cookie), await whoIs(second.cookie)]
    const ended = await gateway(
      `/auth/sessions/${one.sid}/revoke`,
      json({}, { cookie: second.cookie }),
    )
    expect(ended.status).toBe(200)
    const [byPerson] = await eventually(about('gateway.session.ended', two.id))
    expect(byPerson!.event.targets[0]).toEqual({ type: 'session', id: one.sid })
    expect(byPerson!.event.metadata).toMatchObject({ by: 'person', session: one.sid })
    const out = await gateway('/auth/logout', json({}, { cookie: second.cookie }))
    expect(out.status).toBe(200)
    const [signedOut] = await eventually(about('gateway.sign_out.succeeded', two.id))
    expect(signedOut!.event.targets).toEqual([{ type: 'session', id: two.sid }])
  })

  it('an operator: every admin call, service tokens created and revoked, sessions ended', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
    const created = await gateway('/auth/admin/service-tokens', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'audit-bot' }),
    })
    expect(created.status).toBe(201)
    const { id, clientSecret } = (await created.json()) as { id: string; clientSecret: string }
    await gateway(`/auth/admin/service-tokens/${id}`, { method: 'DELETE', headers: admin })
    const email = uniqueEmail('audit-admin-revoke')
    await signInWithCode(email)
    await gateway('/auth/admin/revoke', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ email }),
    })

    const onToken = (action: string) => (event: Received) =>
      about(action, 'admin_token')(event) && event.event.targets[0]?.id === id
    const [tokenMade] = await eventually(onToken('gateway.service_token.created'))
    expect(tokenMade!.event.targets).toEqual([{ type: 'service_token', id, name: 'audit-bot' }])
    const [revoked] = await eventually(onToken('gateway.service_token.revoked'))
    expect(revoked!.event.targets).toEqual([{ type: 'service_token', id }])
    const [ended] = await eventually(
      (event) =>
        about('gateway.session.ended', 'admin_token')(event) &&
        event.event.targets[0]?.id === email,
    )
    expect(ended!.event.metadata).toMatchObject({ by: 'admin', scope: 'person', revoked: 1 })
    // Each call, with the status it got: the admin_api event of the same request.
    const callOf = async (event: Received) => {
      const requestId = event.event.metadata?.request_id
      const [call] = await eventually(
        (other) =>
          about('gateway.admin_api.called', 'admin_token')(other) &&
          other.event.metadata?.request_id === requestId,
      )
      return [call!.event.targets[0]!.id, call!.event.metadata?.status]
    }
    expect(await callOf(tokenMade!)).toEqual(['POST /auth/admin/service-tokens', 201])
    expect(await callOf(revoked!)).toEqual(['DELETE /auth/admin/service-tokens/:id', 200])
    expect(await callOf(ended!)).toEqual(['POST /auth/admin/revoke', 200])
    // The one time the secret is shown, it is not kept.
    expect(JSON.stringify(await received())).not.toContain(clientSecret)
  })

  it('an OAuth grant issued to a client and revoked by it', async () => {
    const { cookie } = await signIn()
    const me = await whoIs(cookie)
    const clientId = await register([LOOPBACK_REDIRECT], 'Audit MCP Client')
    const { verifier, challenge } = await pkce()
    const code = await approvedCode(cookie, clientId, challenge)
    const exchanged = await exchangeCode(clientId, code, verifier, { resource: MCP })
    expect(exchanged.status).toBe(200)
    const { access_token: accessToken, refresh_token: refreshToken } =
      (await exchanged.json()) as Tokens
    const [issued] = await eventually(about('gateway.oauth_grant.issued', me.id))
    expect(issued!.event.targets[1]).toEqual({
      type: 'oauth_client',
      id: clientId,
      name: 'Audit MCP Client',
    })
    expect(issued!.event.metadata).toMatchObject({ client_id: clientId, resource: MCP })
    const grant = issued!.event.targets[0]!
    expect(grant).toMatchObject({ type: 'oauth_grant', name: 'Audit MCP Client' })

    const revoked = await gatewayWith({ ACCESS }, '/auth/oauth/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken, client_id: clientId }).toString(),
    })
    expect(revoked.status).toBe(200)
    expect(await mcpStatus(accessToken)).toBe(401)
    const [ended] = await eventually(about('gateway.oauth_grant.revoked', clientId))
    expect(ended!.event.actor).toEqual({
      type: 'oauth_client',
      id: clientId,
      name: 'Audit MCP Client',
    })
    expect(ended!.event.targets[0]).toEqual(grant)
    expect(ended!.event.metadata).toMatchObject({ by: 'client', reason: 'client_revoked' })
    const everything = JSON.stringify(await received())
    for (const secret of [accessToken, refreshToken, code, verifier])
      expect(everything).not.toContain(secret)
  })
})

/** One delivery attempt by the Worker's own consumer, as the queue would make it. */
async function deliver(body: unknown, attempts: number, queue = 'gateway-audit') {
  const batch = createMessageBatch(queue, [
    { id: 'message-1', timestamp: new Date(), attempts, body },
  ])
  // The delay a retry asks for, which the batch's result does not report.
  const delays: (number | undefined)[] = []
  for (const message of batch.messages) {
    const retry = message.retry.bind(message)
    message.retry = (options) => {
      delays.push(options?.delaySeconds)
      retry(options)
    }
  }
  const ctx = createExecutionContext()
  await worker.queue(batch, env)
  return { ...(await getQueueResult(batch, ctx)), delays }
}

/** An occurrence's message, held back from the queue: a sign-in. */
async function queuedSignIn() {
  const { held: sent, binding } = holdingQueue()
  const email = uniqueEmail('audit-delivery')
  const asked = await gatewayWith({ AUDIT_EVENTS: binding }, '/auth/magic-auth', json({ email }))
  const pending = cookieFrom(asked, '__Host-magic-auth')!
  const verified = await gatewayWith(
    { AUDIT_EVENTS: binding },
    '/auth/magic-auth/verify',
    json({ email, code: await latestCode(email) }, { cookie: pending }),
  )
  expect(verified.status).toBe(200)
  const message = sent.find(
    (body) => (body as { event: { action: string } }).event.action === 'gateway.sign_in.succeeded',
  ) as { idempotencyKey: string; event: { actor: { id: string } } }
  expect(message).toBeDefined()
  return message
}

describe('delivery: exactly one event at WorkOS per occurrence', () => {
  it('an answer lost after WorkOS stored the event: retried with the same key, still one event', async () => {
    const message = await queuedSignIn()

    await armFault({ method: 'POST', path: '/audit_logs/events', after: true, status: 500 })
    const first = await deliver(message, 1)
    expect(first.retryMessages).toEqual([{ msgId: 'message-1' }])
    expect(first.delays).toEqual([10])
    expect(first.explicitAcks).toEqual([])
    const signIn = about('gateway.sign_in.succeeded', message.event.actor.id)
    expect((await received()).filter(signIn)).toHaveLength(1)

    const second = await deliver(message, 2)
    expect(second.explicitAcks).toEqual(['message-1'])
    const events = (await received()).filter(signIn)
    expect(events).toHaveLength(1)
    expect(events[0]!.idempotency_key).toBe(message.idempotencyKey)
  })

  it('WorkOS unreachable: retried later, each time after a longer wait; nothing is lost', async () => {
    const message = await queuedSignIn()
    await armFault({ method: 'POST', path: '/audit_logs/events', drop: true, count: 3 })
    const delays = []
    for (const attempts of [1, 2, 3]) {
      const result = await deliver(message, attempts)
      delays.push(...result.delays)
    }
    expect(delays).toEqual([10, 20, 40])
    expect(await received()).not.toContainEqual(
      expect.objectContaining({ idempotency_key: message.idempotencyKey }),
    )
    expect((await deliver(message, 4)).explicitAcks).toEqual(['message-1'])
    const delivered = (await received()).filter(
      (event) => event.idempotency_key === message.idempotencyKey,
    )
    expect(delivered).toHaveLength(1)
  })

  it('an event WorkOS refuses (an organization it does not know) is not retried: it goes to the log', async () => {
    const message = await queuedSignIn()
    const logged = vi.spyOn(console, 'log')
    const result = await deliver(
      { ...message, organizationId: 'org_01NOSUCH0000000000000000000' },
      1,
    )
    expect(result.explicitAcks).toEqual(['message-1'])
    expect(result.retryMessages).toEqual([])
    const line = logged.mock.calls
      .map(([text]) => String(text))
      .find((text) => text.includes('"audit":true'))
    expect(JSON.parse(line!)).toMatchObject({
      audit: true,
      because: 'rejected_by_workos',
      workosStatus: 404,
      event: { action: 'gateway.sign_in.succeeded' },
    })
    logged.mockRestore()
  })

  it('what reaches the dead-letter queue goes to the log, marked as audit, and is not lost', async () => {
    const message = await queuedSignIn()
    const logged = vi.spyOn(console, 'log')
    const result = await deliver(message, 13, 'gateway-audit-dlq')
    expect(result.explicitAcks).toEqual(['message-1'])
    const line = logged.mock.calls
      .map(([text]) => String(text))
      .find((text) => text.includes('"audit":true'))
    expect(JSON.parse(line!)).toMatchObject({ audit: true, because: 'dead_letter', attempts: 13 })
    // An address is masked in a log line, as everywhere.
    expect(line).not.toMatch(/[a-z0-9-]+@example\.com/)
    logged.mockRestore()
  })
})

describe('a first access seen by several isolates', () => {
  it('is posted once and remembered for the session: a later copy is not posted, even once WorkOS has forgotten its key', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('audit-first-isolates'))
    const { held, binding } = holdingQueue()
    const answer = await gatewayWith({ ACCESS: ROUTES, AUDIT_EVENTS: binding }, '/wiki/home', {
      headers: { cookie },
    })
    expect(answer.status).toBe(200)
    await answer.body?.cancel()
    const message = held.find(
      (body) =>
        (body as { event: { action: string } }).event.action === 'gateway.access.first_allowed',
    ) as { idempotencyKey: string; once: { key: string; until: number } }
    expect(message.once.key).toMatch(/^audit-seen:wiki:/)
    const posted = async () =>
      (await received()).filter((event) => event.idempotency_key === message.idempotencyKey)

    expect((await deliver(message, 1)).explicitAcks).toEqual(['message-1'])
    expect(await posted()).toHaveLength(1)
    expect(await env.SESSIONS.get(message.once.key)).toBe('1')
    // Another isolate's copy of the same first access, under a key WorkOS no longer holds.
    const copy = { ...message, idempotencyKey: crypto.randomUUID() }
    expect((await deliver(copy, 1)).explicitAcks).toEqual(['message-1'])
    expect(
      (await received()).filter((event) => event.idempotency_key === copy.idempotencyKey),
    ).toHaveLength(0)
  })
})

describe('without WorkOS Audit Logs: the log line, never silence', () => {
  it('no organization (no AUDIT_ORGANIZATION_ID, not SSO) or no queue binding: an audit log line, nothing queued', async () => {
    for (const missing of [{ AUDIT_ORGANIZATION_ID: undefined }, { AUDIT_EVENTS: undefined }]) {
      const logged = vi.spyOn(console, 'log')
      const email = uniqueEmail('audit-log-only')
      const asked = await gatewayWith(missing, '/auth/magic-auth', json({ email }))
      const pending = cookieFrom(asked, '__Host-magic-auth')!
      const verified = await gatewayWith(
        missing,
        '/auth/magic-auth/verify',
        json({ email, code: await latestCode(email) }, { cookie: pending }),
      )
      expect(verified.status).toBe(200)
      const lines = logged.mock.calls
        .map(([text]) => String(text))
        .filter((text) => text.includes('"audit":true'))
        .map(
          (text) =>
            JSON.parse(text) as {
              because: string
              event: { action: string; actor: { name: string } }
            },
        )
      logged.mockRestore()
      expect(lines.map((line) => [line.because, line.event.action])).toEqual([
        ['AUDIT_EVENTS' in missing ? 'no_queue' : 'no_organization', 'gateway.sign_in.succeeded'],
      ])
      expect(lines[0]!.event.actor.name).toMatch(/^a\*\*\*@example\.com$/)
      const [settledEvent] = await settled((event) => event.event.actor.name === email)
      expect(settledEvent).toBeUndefined()
    }
  })

  it('WorkOS down never holds a request back: sign-in, sign-out and access go on', async () => {
    await armFault({ method: 'POST', path: '/audit_logs/events', drop: true, count: 50 })
    const { cookie } = await signInWithCode(uniqueEmail('audit-workos-down'))
    const page = await gatewayWith({ ACCESS: ROUTES }, '/wiki/x', { headers: { cookie } })
    expect(page.status).toBe(200)
    await page.body?.cancel()
    expect((await gateway('/auth/logout', json({}, { cookie }))).status).toBe(200)
  })
})

describe('the catalogue', () => {
  it('the README lists every action the gateway records, for registering their schemas at WorkOS', () => {
    const listed = [...readme.matchAll(/^\| `(gateway\.[a-z_]+\.[a-z_]+)` *\|/gm)].map((m) => m[1])
    expect(listed).toEqual([...AUDIT_ACTIONS])
  })
})

describe('sessions WorkOS ended', () => {
  const byEvent = (type: string) => (event: Received) =>
    event.event.action === 'gateway.session.ended' && event.event.actor.name === type

  it('by a webhook, or by the events poll when the webhook was lost: gateway.session.ended naming the WorkOS event', async () => {
    await runCron()
    const viaWebhook = await whoIs((await signInWithCode(uniqueEmail('audit-webhook'))).cookie)
    await deleteAtWorkos(viaWebhook.id)
    const [delivery] = await webhookDeliveriesFor(viaWebhook.id)
    const applied = await deliverWebhook(delivery!)
    expect(applied.status).toBe(200)
    const eventId = (JSON.parse(delivery!.body) as { id: string }).id
    const [fromWebhook] = await eventually(
      (event) => byEvent('user.deleted')(event) && event.event.actor.id === eventId,
    )
    expect(fromWebhook!.event.targets).toEqual([
      { type: 'workos_event', id: eventId, name: 'user.deleted' },
    ])
    expect(fromWebhook!.event.metadata).toMatchObject({ by: 'webhook', revoked: 1 })

    const viaPoll = await whoIs((await signInWithCode(uniqueEmail('audit-poll'))).cookie)
    await dropDeliveries(true)
    await deleteAtWorkos(viaPoll.id)
    await runCron()
    await dropDeliveries(false)
    // The WorkOS event the poll read back: the deletion of this person.
    const { data } = (await (
      await fetch(`${EMULATOR}/events?events=user.deleted&order=desc&limit=10`, {
        headers: { authorization: 'Bearer sk_test_emulator' },
      })
    ).json()) as { data: { id: string; data: { id: string } }[] }
    const deletion = data.find((event) => event.data.id === viaPoll.id)!
    const polled = await eventually(
      (event) => byEvent('user.deleted')(event) && event.event.actor.id === deletion.id,
    )
    expect(polled).toHaveLength(1)
    expect(polled[0]!.event.metadata).toMatchObject({ by: 'events_poll', revoked: 1 })
  })
})
