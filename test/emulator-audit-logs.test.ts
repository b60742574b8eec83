// The whole SDK, as a WorkOS customer's own code would use it (the gateway's build is slimmed).
import {
  BadRequestException,
  GenericServerException,
  NotFoundException,
  UnauthorizedException,
  UnprocessableEntityException,
  type CreateAuditLogEventOptions,
} from '@workos-inc/node/worker'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  AUDIT_LOG_CAP,
  AuditLogStore,
  IDEMPOTENCY_KEY_TTL_MS,
  type ReceivedAuditEvent,
} from '../emulator/audit-log.ts'
import { emulatorSdk } from './emulator-sdk'
import { EMULATOR, armFault, clearFaults, json } from './helpers'

// The emulator's Audit Logs endpoint, driven the way the gateway delivers events: through the
// official SDK's auditLogs.createEvent over HTTP, with an Idempotency-Key per event.

let counter = 0
const unique = (label: string) =>
  `${label}-${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 6)}`

// One organization for this file, so its events are picked out of the shared emulator by id.
let organizationId: string

beforeAll(async () => {
  const response = await fetch(
    `${EMULATOR}/__organizations`,
    json({ name: 'Audit Corp', domains: [`${unique('audit')}.test`], sso: false }),
  )
  expect(response.status).toBe(201)
  organizationId = ((await response.json()) as { id: string }).id
})

afterEach(clearFaults)

function anEvent(action = 'gateway.access.denied'): CreateAuditLogEventOptions {
  return {
    action,
    occurredAt: new Date('2026-03-01T10:00:00.000Z'),
    version: 1,
    actor: { type: 'user', id: 'user_01ABC', name: 'Ada', metadata: { role: 'admin' } },
    targets: [{ type: 'route', id: 'docs', name: 'Docs' }],
    context: { location: '198.51.100.7', userAgent: 'Firefox/130' },
    metadata: { request_id: 'req-1', rule: 'deny-contractors', first: true, count: 2 },
  }
}

/** The wire body createEvent sends for anEvent(), for calls that must send something else. */
function aWireBody(): Record<string, unknown> {
  return {
    organization_id: organizationId,
    event: {
      action: 'gateway.session.ended',
      occurred_at: '2026-03-01T10:00:00.000Z',
      actor: { type: 'user', id: 'user_01ABC' },
      targets: [{ type: 'session', id: 'sess-1' }],
      context: { location: '198.51.100.7' },
    },
  }
}

async function received(query: Record<string, string> = {}): Promise<ReceivedAuditEvent[]> {
  const params = new URLSearchParams({ organization_id: organizationId, ...query })
  const response = await fetch(`${EMULATOR}/__audit_logs?${params}`)
  expect(response.status).toBe(200)
  return ((await response.json()) as { events: ReceivedAuditEvent[] }).events
}

const withKey = (key: string) =>
  received().then((all) => all.filter((e) => e.idempotency_key === key))

const rawPost = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(
    `${EMULATOR}/audit_logs/events`,
    json(body, { authorization: 'Bearer sk_test_emulator', ...headers }),
  )

/** Deletes a dotted path (`event.targets.0.id`) from a copy of the body. */
function without(body: Record<string, unknown>, path: string): Record<string, unknown> {
  const copy = structuredClone(body)
  const parts = path.split('.')
  let place = copy as Record<string, unknown>
  for (const part of parts.slice(0, -1)) place = place[part] as Record<string, unknown>
  delete place[parts.at(-1)!]
  return copy
}

describe('emulator: Audit Logs events (POST /audit_logs/events)', () => {
  it('accepts createEvent and keeps the event as it was sent, newest first', async () => {
    const key = unique('key')
    await expect(
      emulatorSdk().auditLogs.createEvent(organizationId, anEvent('gateway.sign_in.succeeded'), {
        idempotencyKey: key,
      }),
    ).resolves.toBeUndefined()
    // Without a key of its own the SDK makes one up (`workos-node-<uuid>`), as on every call.
    await emulatorSdk().auditLogs.createEvent(organizationId, anEvent('gateway.sign_out.succeeded'))

    const [newest, older] = await received()
    expect(newest!.event.action).toBe('gateway.sign_out.succeeded')
    expect(newest!.idempotency_key).toMatch(/^workos-node-[0-9a-f-]{36}$/)
    expect(older).toEqual({
      organization_id: organizationId,
      event: {
        action: 'gateway.sign_in.succeeded',
        occurred_at: '2026-03-01T10:00:00.000Z',
        version: 1,
        actor: { type: 'user', id: 'user_01ABC', name: 'Ada', metadata: { role: 'admin' } },
        targets: [{ type: 'route', id: 'docs', name: 'Docs' }],
        context: { location: '198.51.100.7', user_agent: 'Firefox/130' },
        metadata: { request_id: 'req-1', rule: 'deny-contractors', first: true, count: 2 },
      },
      idempotency_key: key,
      received_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    })
  })

  it('answers 201 {"success": true} as WorkOS does', async () => {
    const response = await rawPost(aWireBody(), { 'idempotency-key': unique('key') })
    expect(response.status).toBe(201)
    expect(response.headers.get('content-type')).toContain('application/json')
    expect(await response.json()).toEqual({ success: true })
  })

  it('requires the API key: UnauthorizedException, and nothing is kept', async () => {
    const key = unique('key')
    await expect(
      emulatorSdk('sk_test_wrong').auditLogs.createEvent(organizationId, anEvent(), {
        idempotencyKey: key,
      }),
    ).rejects.toBeInstanceOf(UnauthorizedException)
    expect(await withKey(key)).toHaveLength(0)
  })

  it('refuses each missing required field with 422 naming it, and keeps nothing', async () => {
    const required = [
      'organization_id',
      'event',
      'event.action',
      'event.occurred_at',
      'event.actor',
      'event.actor.type',
      'event.actor.id',
      'event.targets',
      'event.targets.0.type',
      'event.targets.0.id',
      'event.context',
      'event.context.location',
    ]
    for (const field of required) {
      const key = unique('key')
      const error = await emulatorSdk()
        .post('/audit_logs/events', without(aWireBody(), field), { idempotencyKey: key })
        .catch((e: unknown) => e)
      expect(error, field).toBeInstanceOf(UnprocessableEntityException)
      expect((error as UnprocessableEntityException).message).toBe(
        `The following requirement must be met:\n\t${field} is required\n`,
      )
      expect(await withKey(key)).toHaveLength(0)
    }
  })

  it("answers 422 in WorkOS's shape: a message and the errors by field", async () => {
    const body = without(without(aWireBody(), 'event.action'), 'event.context.location')
    const response = await rawPost(body)
    expect(response.status).toBe(422)
    expect(await response.json()).toEqual({
      message: 'Validation failed.',
      errors: [
        { field: 'event.action', code: 'event.action is required' },
        { field: 'event.context.location', code: 'event.context.location is required' },
      ],
    })
  })

  it('refuses mistyped fields with 422', async () => {
    const cases: [string, (event: Record<string, unknown>) => void, string][] = [
      ['a date that is not ISO 8601', (e) => (e.occurred_at = 'yesterday'), 'event.occurred_at'],
      ['targets that are not a list', (e) => (e.targets = { type: 'a', id: 'b' }), 'event.targets'],
      ['a version that is not an integer', (e) => (e.version = '1'), 'event.version'],
      [
        'an actor id that is a number',
        (e) => (e.actor = { type: 'user', id: 7 }),
        'event.actor.id',
      ],
    ]
    for (const [what, change, field] of cases) {
      const body = aWireBody()
      change(body.event as Record<string, unknown>)
      const response = await rawPost(body)
      expect(response.status, what).toBe(422)
      const answer = (await response.json()) as { errors: { field: string }[] }
      expect(
        answer.errors.map((e) => e.field),
        what,
      ).toEqual([field])
    }
  })

  it("refuses metadata beyond WorkOS's limits with 400 invalid_audit_log_event", async () => {
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]))
    const cases: [string, Record<string, unknown>, string][] = [
      ['a nested object', { route: { id: 'docs' } }, '/metadata/route'],
      ['a string over 500 characters', { rule: 'x'.repeat(501) }, '/metadata/rule'],
      ['more than 50 keys', tooMany, '/metadata'],
      ['a key with a dot', { 'request.id': 'r' }, '/metadata'],
    ]
    for (const [what, metadata, path] of cases) {
      const key = unique('key')
      const error = await emulatorSdk()
        .auditLogs.createEvent(
          organizationId,
          { ...anEvent(), metadata: metadata as Record<string, string> },
          { idempotencyKey: key },
        )
        .catch((e: unknown) => e)
      expect(error, what).toBeInstanceOf(BadRequestException)
      expect((error as BadRequestException).code).toBe('invalid_audit_log_event')
      expect((error as BadRequestException).errors).toEqual([
        expect.objectContaining({ instancePath: path }),
      ])
      expect(await withKey(key)).toHaveLength(0)
    }
    // The same limits hold for the actor's and the targets' metadata.
    const error = await emulatorSdk()
      .auditLogs.createEvent(organizationId, {
        ...anEvent(),
        targets: [{ type: 'route', id: 'docs', metadata: { note: 'y'.repeat(501) } }],
      })
      .catch((e: unknown) => e)
    expect((error as BadRequestException).errors).toEqual([
      expect.objectContaining({ instancePath: '/targets/0/metadata/note' }),
    ])
  })

  it('answers 404 NotFoundException for an organization it does not know', async () => {
    const key = unique('key')
    const error = await emulatorSdk()
      .auditLogs.createEvent('org_01NOSUCHORGANIZATION00000', anEvent(), { idempotencyKey: key })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotFoundException)
    expect((error as NotFoundException).message).toBe(
      "Organization not found: 'org_01NOSUCHORGANIZATION00000'.",
    )
    const everywhere = (await (await fetch(`${EMULATOR}/__audit_logs`)).json()) as {
      events: ReceivedAuditEvent[]
    }
    expect(everywhere.events.filter((e) => e.idempotency_key === key)).toHaveLength(0)
  })
})

describe('emulator: Audit Logs idempotency', () => {
  it('answers the same key and body again with the stored 201 and keeps one event', async () => {
    const key = unique('key')
    const event = anEvent('gateway.access.denied')
    await emulatorSdk().auditLogs.createEvent(organizationId, event, { idempotencyKey: key })
    await emulatorSdk().auditLogs.createEvent(organizationId, event, { idempotencyKey: key })
    const wire = { organization_id: organizationId, event: (await withKey(key))[0]!.event }
    const again = await rawPost(wire, { 'idempotency-key': key })
    expect(again.status).toBe(201)
    expect(await again.json()).toEqual({ success: true })
    expect(await withKey(key)).toHaveLength(1)
  })

  it('refuses the same key with another body: 400 GenericServerException, nothing more kept', async () => {
    const key = unique('key')
    await emulatorSdk().auditLogs.createEvent(organizationId, anEvent('gateway.grant.issued'), {
      idempotencyKey: key,
    })
    const error = await emulatorSdk()
      .auditLogs.createEvent(organizationId, anEvent('gateway.grant.revoked'), {
        idempotencyKey: key,
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GenericServerException)
    expect((error as GenericServerException).status).toBe(400)
    expect((error as GenericServerException).message).toBe(
      `Another idempotency key (${key}) with different request parameters was found. Please use a different idempotency key.`,
    )
    const kept = await withKey(key)
    expect(kept.map((e) => e.event.action)).toEqual(['gateway.grant.issued'])
  })

  it('leaves the key of a refused request free for the corrected one', async () => {
    const key = unique('key')
    const refused = await rawPost(without(aWireBody(), 'event.action'), { 'idempotency-key': key })
    expect(refused.status).toBe(422)
    expect((await rawPost(aWireBody(), { 'idempotency-key': key })).status).toBe(201)
    expect(await withKey(key)).toHaveLength(1)
  })

  it('keeps every post without an Idempotency-Key as a new event', async () => {
    const body = aWireBody()
    ;(body.event as Record<string, unknown>).action = unique('gateway.test.unkeyed')
    expect((await rawPost(body)).status).toBe(201)
    expect((await rawPost(body)).status).toBe(201)
    const kept = await received({ action: (body.event as { action: string }).action })
    expect(kept.map((e) => e.idempotency_key)).toEqual([null, null])
  })

  it('keeps a key 24 hours; after that the same key and body are a new event', () => {
    const store = new AuditLogStore()
    const body = aWireBody()
    const start = Date.parse('2026-03-01T00:00:00Z')
    expect(store.lookup('k', body, start).kind).toBe('new')
    store.record('org_1', body.event as Record<string, unknown>, 'k', body, start)
    expect(store.lookup('k', body, start + IDEMPOTENCY_KEY_TTL_MS - 1).kind).toBe('replay')
    expect(store.lookup('k', { ...body, organization_id: 'org_2' }, start).kind).toBe('conflict')
    expect(store.lookup('k', body, start + IDEMPOTENCY_KEY_TTL_MS).kind).toBe('new')
  })

  it('compares bodies by content, not by the order of their keys', () => {
    const store = new AuditLogStore()
    const body = aWireBody()
    store.record('org_1', body.event as Record<string, unknown>, 'k', body, Date.now())
    const reordered = { event: body.event, organization_id: body.organization_id }
    expect(store.lookup('k', reordered, Date.now()).kind).toBe('replay')
  })

  it('keeps at most 10,000 events, dropping the oldest', () => {
    const store = new AuditLogStore()
    const now = Date.now()
    for (let i = 0; i < AUDIT_LOG_CAP + 5; i++)
      store.record('org_1', { action: `a.${i}` }, `k${i}`, { i }, now)
    const events = store.list()
    expect(events).toHaveLength(AUDIT_LOG_CAP)
    expect(events[0]!.event.action).toBe(`a.${AUDIT_LOG_CAP + 4}`)
    expect(events.at(-1)!.event.action).toBe('a.5')
    // As many keys are kept: the oldest are forgotten with their events.
    expect(store.lookup('k0', { i: 0 }, now).kind).toBe('new')
    expect(store.lookup('k5', { i: 5 }, now).kind).toBe('replay')
  })
})

describe('emulator: the audit log switch (/__audit_logs)', () => {
  it('filters by action and by organization', async () => {
    const action = unique('gateway.test.filtered')
    await emulatorSdk().auditLogs.createEvent(organizationId, anEvent(action))
    await emulatorSdk().auditLogs.createEvent(organizationId, anEvent('gateway.test.other'))
    expect((await received({ action })).map((e) => e.event.action)).toEqual([action])
    const elsewhere = await fetch(`${EMULATOR}/__audit_logs?organization_id=org_01ELSEWHERE`)
    expect(await elsewhere.json()).toEqual({ events: [] })
  })

  it('DELETE forgets the events and their keys', async () => {
    const key = unique('key')
    await emulatorSdk().auditLogs.createEvent(organizationId, anEvent(), { idempotencyKey: key })
    // One organization's only: the gateway's own events stay for the end-of-run audit scan.
    const cleared = await fetch(`${EMULATOR}/__audit_logs?organization_id=${organizationId}`, {
      method: 'DELETE',
    })
    expect(await cleared.json()).toEqual({ success: true })
    expect(await received({ organization_id: organizationId })).toEqual([])
    await emulatorSdk().auditLogs.createEvent(organizationId, anEvent(), { idempotencyKey: key })
    expect(await withKey(key)).toHaveLength(1)
  })
})

describe('emulator: a lost answer (fault with "after": true)', () => {
  const fault = { method: 'POST', path: '/audit_logs/events' }

  it('a fault without "after" answers before the route: nothing is kept', async () => {
    const key = unique('key')
    await armFault({ ...fault, status: 500 })
    await expect(
      emulatorSdk().auditLogs.createEvent(organizationId, anEvent(), { idempotencyKey: key }),
    ).rejects.toBeInstanceOf(GenericServerException)
    expect(await withKey(key)).toHaveLength(0)
  })

  it('keeps the event but fails the call; the retry with the same key adds nothing', async () => {
    const key = unique('key')
    await armFault({ ...fault, status: 500, after: true })
    const error = await emulatorSdk()
      .auditLogs.createEvent(organizationId, anEvent(), { idempotencyKey: key })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GenericServerException)
    expect((error as GenericServerException).status).toBe(500)
    expect(await withKey(key)).toHaveLength(1)

    await expect(
      emulatorSdk().auditLogs.createEvent(organizationId, anEvent(), { idempotencyKey: key }),
    ).resolves.toBeUndefined()
    expect(await withKey(key)).toHaveLength(1)
  })

  it("the SDK's own retry after a lost 503 sends the same key: exactly one event", async () => {
    const key = unique('key')
    await armFault({ ...fault, status: 503, after: true })
    await expect(
      emulatorSdk('sk_test_emulator', 1).auditLogs.createEvent(organizationId, anEvent(), {
        idempotencyKey: key,
      }),
    ).resolves.toBeUndefined()
    const faults = (await (await fetch(`${EMULATOR}/__faults`)).json()) as { faults: unknown[] }
    expect(faults.faults).toHaveLength(0)
    expect(await withKey(key)).toHaveLength(1)
  })

  it('drops the connection after the route ran: a network error, yet the event is kept', async () => {
    const key = unique('key')
    await armFault({ ...fault, drop: true, after: true })
    const error = await emulatorSdk()
      .auditLogs.createEvent(organizationId, anEvent(), { idempotencyKey: key })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(String(error)).toMatch(/Unexpected error/)
    expect(await withKey(key)).toHaveLength(1)
    await emulatorSdk().auditLogs.createEvent(organizationId, anEvent(), { idempotencyKey: key })
    expect(await withKey(key)).toHaveLength(1)
  })

  it('a slow answer after the route ran (only delayMs) still answers for real', async () => {
    const key = unique('key')
    await armFault({ ...fault, delayMs: 200, after: true })
    const started = Date.now()
    await emulatorSdk().auditLogs.createEvent(organizationId, anEvent(), { idempotencyKey: key })
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    expect(await withKey(key)).toHaveLength(1)
  })
})
