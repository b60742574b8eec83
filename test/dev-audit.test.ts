// The whole SDK, as a WorkOS customer's own code would use it (the gateway's build is slimmed).
import type { CreateAuditLogEventOptions } from '@workos-inc/node/worker'
import { beforeAll, describe, expect, it } from 'vitest'
import { emulatorSdk } from './emulator-sdk'
import { EMULATOR, gateway, gatewayWith, json, productionSettings } from './helpers'

// The dev audit log beside the dev mailbox: what the emulator's POST /audit_logs/events received,
// as a page (/__dev/audit) and as JSON (/__dev/audit.json), in dev mode only.

const workos = emulatorSdk()

const unique = (label: string) =>
  `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

let organizationId: string

function anEvent(action: string, targetName = 'Docs'): CreateAuditLogEventOptions {
  return {
    action,
    occurredAt: new Date('2026-03-01T10:00:00.000Z'),
    actor: { type: 'user', id: 'user_01ADA', name: 'Ada Lovelace' },
    targets: [{ type: 'route', id: 'docs', name: targetName }],
    context: { location: '198.51.100.7', userAgent: 'Firefox/130' },
    metadata: { request_id: 'req-42', rule: 'deny-contractors' },
  }
}

beforeAll(async () => {
  const response = await fetch(
    `${EMULATOR}/__organizations`,
    json({ name: 'Dev Audit Corp', domains: [`${unique('dev-audit')}.test`], sso: false }),
  )
  organizationId = ((await response.json()) as { id: string }).id
  await workos.auditLogs.createEvent(organizationId, anEvent('gateway.sign_in.succeeded'))
  await workos.auditLogs.createEvent(
    organizationId,
    anEvent('gateway.access.denied', '<img src=x onerror=alert(1)>'),
    { idempotencyKey: 'dev-audit-denied' },
  )
})

interface Listed {
  events: {
    organization_id: string
    idempotency_key: string | null
    received_at: string
    event: Record<string, unknown> & { action: string }
  }[]
}

describe('the dev audit log (/__dev/audit, /__dev/audit.json)', () => {
  it('lists the events the emulator received as JSON, newest first, every field kept', async () => {
    const response = await gateway(`/__dev/audit.json?organization_id=${organizationId}`)
    expect(response.status).toBe(200)
    const { events } = (await response.json()) as Listed
    expect(events.map((e) => e.event.action)).toEqual([
      'gateway.access.denied',
      'gateway.sign_in.succeeded',
    ])
    expect(events[0]).toEqual({
      organization_id: organizationId,
      idempotency_key: 'dev-audit-denied',
      received_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      event: {
        action: 'gateway.access.denied',
        occurred_at: '2026-03-01T10:00:00.000Z',
        actor: { type: 'user', id: 'user_01ADA', name: 'Ada Lovelace' },
        targets: [{ type: 'route', id: 'docs', name: '<img src=x onerror=alert(1)>' }],
        context: { location: '198.51.100.7', user_agent: 'Firefox/130' },
        metadata: { request_id: 'req-42', rule: 'deny-contractors' },
      },
    })
  })

  it('passes the action filter on to the emulator', async () => {
    const response = await gateway(
      `/__dev/audit.json?organization_id=${organizationId}&action=gateway.sign_in.succeeded`,
    )
    const { events } = (await response.json()) as Listed
    expect(events.map((e) => e.event.action)).toEqual(['gateway.sign_in.succeeded'])
  })

  it('shows time, action, actor, targets, organization and metadata on a page', async () => {
    const response = await gateway(`/__dev/audit?organization_id=${organizationId}`, {
      headers: { accept: 'text/html' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/html')
    const page = await response.text()
    expect(page).toContain('Dev audit log')
    const denied = page.indexOf('gateway.access.denied')
    const signedIn = page.indexOf('gateway.sign_in.succeeded')
    expect(denied).toBeGreaterThan(-1)
    expect(signedIn).toBeGreaterThan(denied)
    for (const shown of [
      '2026-03-01T10:00:00.000Z',
      'Ada Lovelace (user user_01ADA)',
      organizationId,
      'request_id=req-42 · rule=deny-contractors',
    ])
      expect(page).toContain(shown)
    // What an event carries is text on the page, never markup.
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt; (route docs)')
    expect(page).not.toContain('<img src=x')
  })

  it('links the audit log and the mailbox to each other', async () => {
    const audit = await (await gateway('/__dev/audit', { headers: { accept: 'text/html' } })).text()
    expect(audit).toContain('href="/__dev/mailbox"')
    expect(audit).toContain('href="/__dev/audit.json"')
    const mailbox = await (
      await gateway('/__dev/mailbox', { headers: { accept: 'text/html' } })
    ).text()
    expect(mailbox).toContain('href="/__dev/audit"')
  })

  it('answers 404 outside dev mode, as if the routes did not exist', async () => {
    const settings = await productionSettings()
    for (const path of ['/__dev/audit', '/__dev/audit.json']) {
      const response = await gatewayWith(settings, path, {
        headers: { accept: 'application/json' },
      })
      expect(response.status, path).toBe(404)
      expect(await response.json()).toMatchObject({ error: 'not_found' })
    }
  })

  it('answers 404 saying so when the emulator is not running', async () => {
    const response = await gatewayWith(
      { WORKOS_API_URL: 'http://127.0.0.1:9' },
      '/__dev/audit.json',
    )
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({
      error: 'audit_log_unavailable',
      message: 'The dev audit log is off: the emulator is not running.',
    })
  })
})
