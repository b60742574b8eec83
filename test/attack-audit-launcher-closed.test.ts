// Holes the attacker review of issue 22 found in the audit trail and the app launcher, closed:
// each test failed before its fix (test/attack-audit-launcher.test.ts has the probes that held).
import { describe, expect, it } from 'vitest'
import { deliverBatch, holdingQueue } from './audit-probe'
import {
  ADMIN_TOKEN,
  gatewayAt,
  EMULATOR,
  cookieFrom,
  json,
  signInWithCode,
  uniqueEmail,
} from './helpers'

/** A request through the Worker with some settings replaced; waits for the work after it. */
const call = gatewayAt

const ACCESS = JSON.stringify({
  routes: [
    { name: 'admin', path: '/admin/*', allow: [{ emails: ['nobody@example.org'] }] },
    { name: 'items', path: '/items/*', deny: [{ methods: ['DELETE'] }] },
    { name: 'chat', path: '/chat/*', websockets: false },
    { name: 'app', path: '/*' },
  ],
})
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }

describe('an anonymous client cannot flood the audit trail', () => {
  it('one sealed sign-in state replayed at the callback with error=… is one refused sign-in, not one per request', async () => {
    // Anyone can start SSO for a tenant's organization and read the sealed state from the
    // redirect; the callback's error branch audits before anything else, with no limiter.
    const org = (await (
      await fetch(
        `${EMULATOR}/__organizations`,
        json({ name: 'Tenant', domains: [`tenant-${Date.now().toString(36)}.test`], sso: true }),
      )
    ).json()) as { id: string }
    const started = await call(`/auth/sso?organization=${org.id}`)
    expect(started.status).toBe(302)
    const state = new URL(started.headers.get('location')!).searchParams.get('state')!
    const { held, binding } = holdingQueue()
    for (let i = 0; i < 20; i++) {
      const answer = await call(
        `/auth/callback?state=${encodeURIComponent(state)}&error=access_denied`,
        { headers: { 'cf-connecting-ip': '203.0.113.50' } },
        { AUDIT_EVENTS: binding },
      )
      expect(answer.status).toBe(302)
    }
    // Filed in the tenant's own organization at WorkOS, by someone outside it.
    expect(held[0]).toMatchObject({
      organizationId: org.id,
      event: { action: 'gateway.sign_in.failed', actor: { id: 'unknown' } },
    })
    // At most what the client's address may cost (10 in 10 s), and all one occurrence: one
    // idempotency key, so one event at WorkOS.
    expect(held.length).toBeLessThanOrEqual(10)
    expect(new Set(held.map((message) => message.idempotencyKey)).size).toBe(1)
  })

  it('requests the verify rate limiter refuses (429) queue no audit event', async () => {
    const email = uniqueEmail('attack-flood')
    const ip = { 'cf-connecting-ip': '203.0.113.61' }
    const asked = await call('/auth/magic-auth', json({ email }, ip))
    expect(asked.status).toBe(200)
    const pending = cookieFrom(asked, '__Host-magic-auth')!
    const { held, binding } = holdingQueue()
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      const answer = await call(
        '/auth/magic-auth/verify',
        json({ code: 'nope' }, { ...ip, cookie: pending }),
        { AUDIT_EVENTS: binding },
      )
      await answer.body?.cancel()
      statuses.push(answer.status)
    }
    const limited = statuses.filter((status) => status === 429).length
    expect(limited).toBeGreaterThanOrEqual(15)
    expect(held.length).toBeLessThanOrEqual(30 - limited)
  })
})

describe('what an access event says', () => {
  it('forward-auth records the method it was asked about, not the GET of /auth/verify', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-fa-method'))
    const { held, binding } = holdingQueue()
    const answer = await call(
      '/auth/verify',
      {
        headers: {
          cookie,
          accept: 'application/json',
          'x-forwarded-method': 'DELETE',
          'x-forwarded-uri': '/items/1',
          'x-forwarded-host': 'gateway.test',
        },
      },
      { ACCESS, AUDIT_EVENTS: binding },
    )
    expect(answer.status).toBe(403)
    expect(held[0]!.event.metadata).toMatchObject({ route: 'items', via: 'forward-auth' })
    expect(held[0]!.event.metadata.method).toBe('DELETE')
  })

  it('a refusal because no allow set matched names the rule that decided', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-rule'))
    const { held, binding } = holdingQueue()
    const answer = await call(
      '/admin/x',
      { headers: { cookie, accept: 'application/json' } },
      { ACCESS, AUDIT_EVENTS: binding },
    )
    expect(answer.status).toBe(403)
    expect(held[0]!.event.metadata.rule).toBe('allow: none matched')
  })

  it('a WebSocket the route refuses (403 websockets_not_allowed) is not recorded as allowed', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-socket'))
    const { held, binding } = holdingQueue()
    const answer = await call(
      '/chat/live',
      { headers: { cookie, upgrade: 'websocket' } },
      { ACCESS, AUDIT_EVENTS: binding },
    )
    expect(answer.status).toBe(403)
    expect(held.map((message) => message.event.action)).not.toContain(
      'gateway.access.first_allowed',
    )
  })

  it('a refusal another page made the browser send can be told from the person’s own (Sec-Fetch-Site)', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-same-site'))
    const { held, binding } = holdingQueue()
    // What an <img> or a no-cors fetch on a sibling host (same site) sends with the cookie.
    const answer = await call(
      '/admin/x',
      {
        headers: {
          cookie,
          accept: 'image/*',
          'sec-fetch-site': 'same-site',
          'sec-fetch-mode': 'no-cors',
          'sec-fetch-dest': 'image',
        },
      },
      { ACCESS, AUDIT_EVENTS: binding },
    )
    expect(answer.status).toBe(403)
    expect(held[0]!.event.metadata.fetch_site).toBe('same-site')
  })
})

describe('delivery and the log line', () => {
  it('an event WorkOS refuses as invalid (400 invalid_audit_log_event) goes to the log at once, not retried for hours', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-invalid'))
    const { held, binding } = holdingQueue()
    const answer = await call(
      '/admin/x',
      { headers: { cookie, accept: 'application/json' } },
      { ACCESS, AUDIT_EVENTS: binding },
    )
    expect(answer.status).toBe(403)
    const message = held[0]!
    // What WorkOS answers 400 {code: invalid_audit_log_event, errors} for: metadata beyond its
    // limits, or not matching the schema the operator registered for the action.
    const spoiled = {
      ...message,
      event: {
        ...message.event,
        metadata: { ...message.event.metadata, rule: 'too long '.repeat(63) },
      },
    }
    const result = await deliverBatch([spoiled])
    expect(result.retryMessages).toEqual([])
    expect(result.explicitAcks).toEqual(['message-0'])
  })

  it('the audit log line masks an address wherever it is in the event (a target id too)', async () => {
    const email = uniqueEmail('attack-mask')
    const lines: string[] = []
    const original = console.log
    console.log = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '))
    }
    try {
      const answer = await call(
        '/auth/admin/revoke',
        { method: 'POST', headers: admin, body: JSON.stringify({ email }) },
        { AUDIT_ORGANIZATION_ID: undefined },
      )
      expect(answer.status).toBe(200)
    } finally {
      console.log = original
    }
    const audits = lines.filter((line) => line.includes('"audit":true'))
    expect(audits.length).toBeGreaterThan(0)
    for (const line of audits) expect(line).not.toContain(email)
  })
})

describe('the launcher and the sign-in host', () => {
  const SIGN_IN = { SIGN_IN_HOST: 'gateway.test', ALLOWED_HOSTS: 'app.gateway.test' }

  it('a launcher.url naming the sign-in host (with a port) is refused as a configuration problem', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-launcher-port'))
    const listed = await call(
      '/auth/apps',
      { headers: { cookie, accept: 'application/json' } },
      {
        ...SIGN_IN,
        ACCESS: JSON.stringify({
          routes: [
            { name: 'app', path: '/*', launcher: { url: 'https://gateway.test:8443/home' } },
          ],
        }),
      },
    )
    expect(listed.status).toBe(500)
  })

  it('the sign-in host spelled with a trailing dot serves no origin content either', async () => {
    const settings = {
      ...SIGN_IN,
      ACCESS: JSON.stringify({ routes: [{ name: 'pub', path: '/*', public: true }] }),
    }
    const plain = await call(
      'https://gateway.test/x',
      { headers: { accept: 'application/json' } },
      settings,
    )
    expect(plain.status).toBe(404)
    const dotted = await call(
      'https://gateway.test./x',
      { headers: { accept: 'application/json' } },
      settings,
    )
    await dotted.body?.cancel()
    expect(dotted.headers.get('x-origin')).toBeNull()
    expect(dotted.status).toBe(404)
  })

  it('an absolute launcher.url on a host the gateway does not serve is refused as a configuration problem', async () => {
    const { cookie } = await signInWithCode(uniqueEmail('attack-launcher-foreign'))
    const listed = await call(
      '/auth/apps',
      { headers: { cookie, accept: 'application/json' } },
      {
        ACCESS: JSON.stringify({
          routes: [{ name: 'app', path: '/*', launcher: { url: 'https://evil.example/login' } }],
        }),
      },
    )
    expect(listed.status).toBe(500)
  })
})
