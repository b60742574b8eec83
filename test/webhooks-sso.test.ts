import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { afterEach, describe, expect, it } from 'vitest'
import { sha256 } from '../src/crypto'
import worker from '../src/index'
import {
  EMULATOR,
  GATEWAY,
  armFault,
  clearFaults,
  controlledKv,
  countingKv,
  gateway,
  gatewayWith,
  json,
  pathOf,
  sessionCookieFrom,
  signInWithCode,
  meStatus,
  sessionIdOf,
} from './helpers'

// WorkOS events about SSO connections, organization memberships and the directory end or update
// the sessions they concern, with the same signature and replay rules as the user events. Every
// sign-in here is a real one through the emulator's IdP page; every event is the signed delivery
// the emulator recorded when its control route changed something.

const kv = env.SESSIONS
const idOf = sessionIdOf
const handleOf = (cookie: string) => sha256(idOf(cookie))
const status = meStatus
const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
const newDomain = () => `corp-${unique()}.test`

afterEach(clearFaults)

interface Organization {
  id: string
  connectionId: string
  domain: string
}

/** A new organization with a verified domain and an active SSO connection. */
async function organization(domain = newDomain()): Promise<Organization> {
  const response = await fetch(
    `${EMULATOR}/__organizations`,
    json({ name: `Corp ${domain}`, domains: [domain] }),
  )
  expect(response.status).toBe(201)
  const { id, connectionId } = (await response.json()) as { id: string; connectionId: string }
  return { id, connectionId, domain }
}

interface SsoAnswer {
  role?: string
  groups?: string
  userAgent?: string
  /**
   * 'email' (default): the address's domain sends the person to SSO (magic-auth answers 403
   * sso_required). 'organization': /auth/sso names the organization, for an address whose
   * domain lookup this isolate already remembers as having none (a code sign-in came first).
   */
  via?: 'email' | 'organization'
}

/** Signs in through the organization's IdP, in this test "browser"; returns the session cookie. */
async function ssoSignIn(org: Organization, email: string, answer: SsoAnswer = {}) {
  const asked =
    answer.via === 'organization'
      ? await gateway('/auth/sso', json({ organization: org.id }))
      : await gateway('/auth/magic-auth', json({ email }))
  expect(asked.status).toBe(answer.via === 'organization' ? 200 : 403)
  const { redirect } = (await asked.json()) as { redirect: string }
  const toIdp = await fetch(redirect, { redirect: 'manual' })
  expect(toIdp.status).toBe(302)
  const page = new URL(toIdp.headers.get('location')!, redirect)
  const back = await fetch(page, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      email,
      first_name: 'Grace',
      last_name: 'Hopper',
      role: answer.role ?? 'member',
      groups: answer.groups ?? '',
      decision: 'allow',
    }),
  })
  expect(back.status).toBe(302)
  const callback = back.headers.get('location')!
  expect(callback.startsWith(`${GATEWAY}/auth/callback?code=`)).toBe(true)
  const done = await gateway(pathOf(callback), {
    headers: { 'user-agent': answer.userAgent ?? 'Mozilla/5.0 (test)' },
  })
  const cookie = sessionCookieFrom(done)
  if (!cookie) throw new Error(`callback answered ${done.status} without a session`)
  return cookie
}

interface Delivery {
  id: string
  event: string
  body: string
  signature: string
}

/** The signed delivery of one event the emulator emitted (a control route answers its id). */
async function delivery(eventId: string, event: string): Promise<Delivery> {
  const { deliveries } = (await (
    await fetch(`${EMULATOR}/__webhooks?event=${encodeURIComponent(event)}`)
  ).json()) as { deliveries: Delivery[] }
  const found = deliveries.find((d) => d.id === eventId)
  if (!found) throw new Error(`no ${event} delivery ${eventId}`)
  return found
}

/** Calls an emulator control route and returns the delivery of the event it emitted. */
async function emitted(path: string, event: string, init?: RequestInit): Promise<Delivery> {
  const response = await fetch(`${EMULATOR}${path}`, { method: 'POST', ...init })
  expect(response.ok).toBe(true)
  const { eventId } = (await response.json()) as { eventId: string }
  return delivery(eventId, event)
}

/** Signs any event (for shapes no control route emits), as WorkOS would. */
async function signed(event: string, data: Record<string, unknown>): Promise<Delivery> {
  return (await (
    await fetch(`${EMULATOR}/__webhooks/sign`, json({ event, data }))
  ).json()) as Delivery
}

const webhookRequest = (d: Pick<Delivery, 'body' | 'signature'>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', 'workos-signature': d.signature },
  body: d.body,
})

const deliver = (d: Pick<Delivery, 'body' | 'signature'>) =>
  gateway('/auth/webhooks/workos', webhookRequest(d))

/** A request through the Worker with another SESSIONS binding; background work may go on. */
async function startRequest(binding: KVNamespace, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext()
  const request = new Request(`${GATEWAY}${path}`, { redirect: 'manual', ...init })
  const response = await worker.fetch(request, { ...env, SESSIONS: binding } as Env, ctx)
  return { response, settled: () => waitOnExecutionContext(ctx) }
}

async function sessionOf(cookie: string) {
  const response = await gateway('/auth/me', { headers: { cookie } })
  expect(response.status).toBe(200)
  return ((await response.json()) as { session: { roles: string[]; groups: string[] } }).session
}

const deactivate = (org: Organization) =>
  emitted(`/__connections/${org.connectionId}/deactivate`, 'connection.deactivated')

describe('connection.deactivated and connection.deleted', () => {
  it('deactivated: every session through the connection ends; other sign-ins are untouched', async () => {
    const org = await organization()
    const other = await organization()
    const annLaptop = await ssoSignIn(org, `ann@${org.domain}`)
    const annPhone = await ssoSignIn(org, `ann@${org.domain}`, { userAgent: 'iPhone' })
    const bob = await ssoSignIn(org, `bob@${org.domain}`)
    const carol = await ssoSignIn(other, `carol@${other.domain}`)
    const byCode = await signInWithCode()

    const event = await deactivate(org)
    const response = await deliver(event)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ received: true })
    for (const cookie of [annLaptop, annPhone, bob]) expect(await status(cookie)).toBe(401)
    // The ends are tidied as well as refused: the values are gone, end markers left.
    expect(await kv.get(`session:${await handleOf(annPhone)}`)).toBeNull()
    expect(await kv.get(`ended:${await handleOf(annPhone)}`)).toBe('1')
    expect(await status(carol)).toBe(200)
    expect(await status(byCode.cookie)).toBe(200)
    // The same delivery again is a replay.
    expect((await deliver(event)).status).toBe(400)
  })

  it('deleted: the same', async () => {
    const org = await organization()
    const ann = await ssoSignIn(org, `ann@${org.domain}`)
    const response = await fetch(`${EMULATOR}/__connections/${org.connectionId}`, {
      method: 'DELETE',
    })
    const { eventId } = (await response.json()) as { eventId: string }
    expect((await deliver(await delivery(eventId, 'connection.deleted'))).status).toBe(200)
    expect(await status(ann)).toBe(401)
  })

  it('ends a session made elsewhere that KV’s listing does not show yet, and its person’s only one', async () => {
    const org = await organization()
    const ann = await ssoSignIn(org, `ann@${org.domain}`)
    const listed = await ssoSignIn(org, `bob@${org.domain}`)
    // Ann's session was made "in another location": no listing shows it, under her person or
    // under the connection, so nothing the webhook can list leads to her.
    const hidden = await handleOf(ann)
    const lagging = controlledKv({ hideFromList: (key) => key.endsWith(hidden) })
    const webhook = await startRequest(
      lagging.binding,
      '/auth/webhooks/workos',
      webhookRequest(await deactivate(org)),
    )
    expect(webhook.response.status).toBe(200)
    await webhook.settled()
    // The listing missed it, so its value is still in KV; the connection's end time ends it.
    expect(await kv.get(`session:${hidden}`)).not.toBeNull()
    expect(await status(ann)).toBe(401)
    expect(await status(listed)).toBe(401)
    // It stays out of the person's sessions page too.
    expect((await gateway('/auth/sessions', { headers: { cookie: ann } })).status).toBe(401)
    // The connection activated again signs people in afresh.
    await fetch(`${EMULATOR}/__connections/${org.connectionId}/activate`, { method: 'POST' })
    expect(await status(await ssoSignIn(org, `ann@${org.domain}`))).toBe(200)
  })

  it('a sliding refresh that lands after the connection’s end does not bring a session back', async () => {
    const org = await organization()
    const ann = await ssoSignIn(org, `ann@${org.domain}`)
    const key = `session:${await handleOf(ann)}`
    const record = JSON.parse((await kv.get(key, 'text'))!)
    await kv.put(key, JSON.stringify({ ...record, lastSeenAt: Date.now() - 13 * 3600_000 }), {
      expirationTtl: 3600,
    })
    const slow = controlledKv({ hold: (op, k) => op === 'put' && k.startsWith('session:') })
    const used = await startRequest(slow.binding, '/x', { headers: { cookie: ann } })
    expect(used.response.status).toBe(200)
    expect(slow.held()).toEqual(['put session'])
    expect((await deliver(await deactivate(org))).status).toBe(200)
    await slow.release()
    await used.settled()
    expect(await kv.get(key)).not.toBeNull()
    expect(await status(ann)).toBe(401)
  })

  it('a signed-in request is still one KV read, before and after a connection ends', async () => {
    const org = await organization()
    const gone = await organization()
    const ann = await ssoSignIn(org, `ann@${org.domain}`)
    const before = countingKv()
    const first = await gatewayWith({ SESSIONS: before.binding }, '/auth/me', {
      headers: { cookie: ann },
    })
    expect(first.status).toBe(200)
    expect(before.counts).toMatchObject({ get: 1, list: 0 })
    expect((await deliver(await deactivate(gone))).status).toBe(200)
    const after = countingKv()
    await gatewayWith({ SESSIONS: after.binding }, '/auth/me', { headers: { cookie: ann } })
    expect(after.counts).toMatchObject({ get: 1, list: 0 })
  })

  it('with an isolate cache: the end applies at once here, and reads reuse the ended list', async () => {
    const cached = { SESSION_CACHE_SECONDS: '30' }
    const org = await organization()
    const ann = await ssoSignIn(org, `ann@${org.domain}`)
    const bob = await ssoSignIn(org, `bob@${org.domain}`)
    const keysRead: string[][] = []
    const recording = new Proxy(kv, {
      get(target, name: string) {
        const value = (target as unknown as Record<string, unknown>)[name]
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          if (name === 'get' && Array.isArray(args[0])) keysRead.push(args[0] as string[])
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    })
    const asCached = (cookie: string) =>
      gatewayWith({ ...cached, SESSIONS: recording }, '/auth/me', { headers: { cookie } })
    expect((await asCached(ann)).status).toBe(200)
    expect(keysRead.at(-1)).toContain('connections-ended')
    expect((await asCached(bob)).status).toBe(200)
    expect(keysRead.at(-1)).toHaveLength(3)
    const webhook = await gatewayWith(
      { ...cached, SESSIONS: recording },
      '/auth/webhooks/workos',
      webhookRequest(await deactivate(org)),
    )
    expect(webhook.status).toBe(200)
    // Both were cached as live in this isolate; the end here clears them at once.
    expect((await asCached(ann)).status).toBe(401)
    expect((await asCached(bob)).status).toBe(401)
  })

  it('refuses a tampered or unsigned connection event: 400, nothing ends', async () => {
    const org = await organization()
    const ann = await ssoSignIn(org, `ann@${org.domain}`)
    const event = await deactivate(org)
    const other = await organization()
    const tampered = { ...event, body: event.body.replaceAll(org.connectionId, other.connectionId) }
    expect((await deliver(tampered)).status).toBe(400)
    expect((await deliver({ ...event, signature: '' })).status).toBe(400)
    expect(await status(ann)).toBe(200)
  })
})

describe('organization memberships', () => {
  const membershipPath = (org: Organization, email: string) =>
    `/__organizations/${org.id}/memberships/${encodeURIComponent(email)}`

  it('membership.deleted ends the person’s SSO sessions in that organization; others stay', async () => {
    const org = await organization()
    const ann = `ann@${org.domain}`
    const annLaptop = await ssoSignIn(org, ann)
    const annPhone = await ssoSignIn(org, ann, { userAgent: 'iPhone' })
    const bob = await ssoSignIn(org, `bob@${org.domain}`)
    // Ann never signed in by code, so the gateway has no mapping for her WorkOS user id: it
    // asks WorkOS (userManagement.getUser) who she is.
    const event = await emitted(membershipPath(org, ann), 'organization_membership.deleted', {
      method: 'DELETE',
    })
    expect((await deliver(event)).status).toBe(200)
    expect(await status(annLaptop)).toBe(401)
    expect(await status(annPhone)).toBe(401)
    expect(await status(bob)).toBe(200)
  })

  it('finds the person through the gateway’s user mapping without asking WorkOS', async () => {
    // A code sign-in before the domain's organization exists (so the gateway remembers the
    // domain as having no SSO): it maps her WorkOS user id to her, and it is not an SSO session.
    const domain = newDomain()
    const ann = `ann@${domain}`
    const byCode = await signInWithCode(ann)
    const org = await organization(domain)
    const bySso = await ssoSignIn(org, ann, { via: 'organization' })
    // WorkOS's user lookup is broken: the mapping is enough.
    await armFault({ method: 'GET', path: '/user_management/users/*', status: 500, count: 10 })
    const event = await emitted(membershipPath(org, ann), 'organization_membership.deleted', {
      method: 'DELETE',
    })
    expect((await deliver(event)).status).toBe(200)
    expect(await status(bySso)).toBe(401)
    expect(await status(byCode.cookie)).toBe(200)
  })

  it('after a user.updated that changed the email, the mapping leads to the new address', async () => {
    const domain = newDomain()
    const byCode = await signInWithCode(`ann@${domain}`)
    const me = (await (
      await gateway('/auth/me', { headers: { cookie: byCode.cookie } })
    ).json()) as {
      user: { id: string }
    }
    const renamed = await fetch(`${EMULATOR}/user_management/users/${me.user.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk_test_emulator' },
      body: JSON.stringify({ email: `ann.new@${domain}` }),
    })
    expect(renamed.status).toBe(200)
    const { deliveries } = (await (
      await fetch(`${EMULATOR}/__webhooks?user=${me.user.id}&event=user.updated`)
    ).json()) as { deliveries: Delivery[] }
    expect((await deliver(deliveries[0]!)).status).toBe(200)
    expect(await status(byCode.cookie)).toBe(401)
    const org = await organization(domain)
    const bySso = await ssoSignIn(org, `ann.new@${domain}`, { via: 'organization' })
    await armFault({ method: 'GET', path: '/user_management/users/*', status: 500, count: 10 })
    const event = await emitted(
      membershipPath(org, `ann.new@${domain}`),
      'organization_membership.deleted',
      { method: 'DELETE' },
    )
    expect((await deliver(event)).status).toBe(200)
    expect(await status(bySso)).toBe(401)
  })

  it('WorkOS out of reach: 503 and nothing changes; the same delivery applies once it answers', async () => {
    const org = await organization()
    const ann = `ann@${org.domain}`
    const cookie = await ssoSignIn(org, ann)
    const event = await emitted(membershipPath(org, ann), 'organization_membership.deleted', {
      method: 'DELETE',
    })
    await armFault({ method: 'GET', path: '/user_management/users/*', status: 500, count: 10 })
    const failed = await deliver(event)
    expect(failed.status).toBe(503)
    expect(failed.headers.get('retry-after')).not.toBeNull()
    expect(await status(cookie)).toBe(200)
    await clearFaults()
    expect((await deliver(event)).status).toBe(200)
    expect(await status(cookie)).toBe(401)
  })

  it('membership.updated: a role added is written into the sessions, a role removed ends them', async () => {
    const org = await organization()
    const ann = `ann@${org.domain}`
    const cookie = await ssoSignIn(org, ann, { role: 'member', groups: 'eng' })
    const bob = await ssoSignIn(org, `bob@${org.domain}`, { role: 'admin' })
    expect((await sessionOf(cookie)).roles).toEqual(['member'])
    const promoted = await emitted(membershipPath(org, ann), 'organization_membership.updated', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ roles: ['member', 'viewer'] }),
    })
    expect((await deliver(promoted)).status).toBe(200)
    expect(await sessionOf(cookie)).toMatchObject({ roles: ['member', 'viewer'], groups: ['eng'] })
    expect((await sessionOf(bob)).roles).toEqual(['admin'])
    // Taking a role away is final: the session ends, and the next sign-in carries the new roles.
    const demoted = await emitted(membershipPath(org, ann), 'organization_membership.updated', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ roles: ['member'] }),
    })
    expect((await deliver(demoted)).status).toBe(200)
    expect(await status(cookie)).toBe(401)
    expect((await sessionOf(bob)).roles).toEqual(['admin'])
  })

  const putRoles = (org: Organization, email: string, roles: string[]) =>
    emitted(membershipPath(org, email), 'organization_membership.updated', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ roles }),
    })

  it('a late, older membership.updated does not put back a role a newer one took away', async () => {
    const org = await organization()
    const ann = `ann@${org.domain}`
    const cookie = await ssoSignIn(org, ann, { role: 'member' })
    const policy = JSON.stringify({
      routes: [{ name: 'admin', path: '/admin/*', allow: [{ roles: ['admin'] }] }],
    })
    const adminStatus = async () =>
      (
        await gatewayWith({ ACCESS: policy }, '/admin/x', {
          headers: { cookie, accept: 'application/json' },
        })
      ).status
    // WorkOS made admin, then took it away again; the deliveries arrive newest first (a retry of
    // the first, or plain reordering).
    const granted = await putRoles(org, ann, ['admin', 'member'])
    const revoked = await putRoles(org, ann, ['member'])
    expect((await deliver(revoked)).status).toBe(200)
    expect((await sessionOf(cookie)).roles).toEqual(['member'])
    const late = await deliver(granted)
    expect(late.status).toBe(200)
    expect(await late.json()).toEqual({ received: true })
    expect((await sessionOf(cookie)).roles).toEqual(['member'])
    expect(await adminStatus()).toBe(403)
  })

  it('a membership.updated older than a sign-in does not rewrite that session', async () => {
    const org = await organization()
    const ann = `ann@${org.domain}`
    const before = await ssoSignIn(org, ann, { role: 'member' })
    const granted = await putRoles(org, ann, ['admin', 'member'])
    // She signs in again after the change; the IdP's answer then (member) is newer than the
    // event, which arrives only now.
    const after = await ssoSignIn(org, ann, { role: 'member', userAgent: 'iPhone' })
    expect((await deliver(granted)).status).toBe(200)
    expect((await sessionOf(before)).roles).toEqual(['admin', 'member'])
    expect((await sessionOf(after)).roles).toEqual(['member'])
  })

  it('a late, older user.updated does not undo a newer email change', async () => {
    const domain = `plain-${unique()}.example`
    const byCode = await signInWithCode(`ann@${domain}`)
    const { user } = (await (
      await gateway('/auth/me', { headers: { cookie: byCode.cookie } })
    ).json()) as { user: { id: string } }
    const update = (body: Record<string, string>) =>
      fetch(`${EMULATOR}/user_management/users/${user.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk_test_emulator' },
        body: JSON.stringify(body),
      })
    expect((await update({ firstName: 'Ada' })).status).toBe(200)
    expect((await update({ email: `ann.new@${domain}` })).status).toBe(200)
    const { deliveries } = (await (
      await fetch(`${EMULATOR}/__webhooks?user=${user.id}&event=user.updated`)
    ).json()) as { deliveries: Delivery[] }
    const [moved, named] = deliveries
    expect((await deliver(moved!)).status).toBe(200)
    expect(await status(byCode.cookie)).toBe(401)
    const now = await signInWithCode(`ann.new@${domain}`)
    // The rename from before the move, delivered late, names the old address: it is not news.
    expect((await deliver(named!)).status).toBe(200)
    expect(await status(now.cookie)).toBe(200)
  })

  it('membership.updated to a membership no longer active ends the sessions', async () => {
    const org = await organization()
    const ann = `ann@${org.domain}`
    const cookie = await ssoSignIn(org, ann)
    // The membership as WorkOS describes it (the IdP sign-in made it), then marked inactive.
    const { membership } = (await (
      await fetch(`${EMULATOR}${membershipPath(org, ann)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'member' }),
      })
    ).json()) as { membership: Record<string, unknown> }
    const event = await signed('organization_membership.updated', {
      ...membership,
      status: 'inactive',
    })
    expect((await deliver(event)).status).toBe(200)
    expect(await status(cookie)).toBe(401)
  })
})

describe('directory sync', () => {
  it('dsync.user.deleted ends every session of that person, SSO and code alike', async () => {
    // A code sign-in before the domain's organization exists, then SSO.
    const domain = newDomain()
    const ann = `ann@${domain}`
    const byCode = await signInWithCode(ann)
    const org = await organization(domain)
    const bySso = await ssoSignIn(org, ann, { via: 'organization' })
    const bob = await ssoSignIn(org, `bob@${org.domain}`, { via: 'organization' })
    const event = await emitted(
      `/__directory/users/${encodeURIComponent(ann)}/delete`,
      'dsync.user.deleted',
      { headers: { 'content-type': 'application/json' }, body: '{}' },
    )
    expect((await deliver(event)).status).toBe(200)
    expect(await status(byCode.cookie)).toBe(401)
    expect(await status(bySso)).toBe(401)
    expect(await status(bob)).toBe(200)
  })

  it('dsync.user.deleted from another organization’s directory signs nobody out', async () => {
    const org = await organization()
    const ann = `ann@${org.domain}`
    const bySso = await ssoSignIn(org, ann)
    const carl = `carl@plain-${unique()}.example`
    const byCode = await signInWithCode(carl)
    // Another tenant's directory names them (a SCIM directory may hold any address).
    const hostile = await organization()
    for (const email of [ann, carl]) {
      const event = await emitted(
        `/__directory/users/${encodeURIComponent(email)}/delete`,
        'dsync.user.deleted',
        {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ organizationId: hostile.id }),
        },
      )
      expect((await deliver(event)).status).toBe(200)
    }
    expect(await status(bySso)).toBe(200)
    expect(await status(byCode.cookie)).toBe(200)
    // Her own organization's directory does end her session.
    const own = await emitted(
      `/__directory/users/${encodeURIComponent(ann)}/delete`,
      'dsync.user.deleted',
      { headers: { 'content-type': 'application/json' }, body: '{}' },
    )
    expect((await deliver(own)).status).toBe(200)
    expect(await status(bySso)).toBe(401)
  })

  it('dsync.user.deleted reaches a code sign-in only at an address of the organization’s verified domains', async () => {
    // A contractor's own address: the organization's directory may list it, but the organization
    // does not own that mailbox, so the code session it opened is not the directory's to end.
    const org = await organization()
    const contractor = `dana@plain-${unique()}.example`
    const byCode = await signInWithCode(contractor)
    const event = await emitted(
      `/__directory/users/${encodeURIComponent(contractor)}/delete`,
      'dsync.user.deleted',
      {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ organizationId: org.id }),
      },
    )
    expect((await deliver(event)).status).toBe(200)
    expect(await status(byCode.cookie)).toBe(200)
  })

  it('dsync.user.deleted: WorkOS out of reach is 503, and the same delivery applies later', async () => {
    // A code sign-in before the domain's organization exists: nothing has asked WorkOS about the
    // organization yet.
    const domain = newDomain()
    const ann = `ann@${domain}`
    const byCode = await signInWithCode(ann)
    await organization(domain)
    const event = await emitted(
      `/__directory/users/${encodeURIComponent(ann)}/delete`,
      'dsync.user.deleted',
      { headers: { 'content-type': 'application/json' }, body: '{}' },
    )
    await armFault({ method: 'GET', path: '/organizations/*', status: 500, count: 10 })
    const failed = await deliver(event)
    expect(failed.status).toBe(503)
    expect(failed.headers.get('retry-after')).not.toBeNull()
    expect(await status(byCode.cookie)).toBe(200)
    await clearFaults()
    expect((await deliver(event)).status).toBe(200)
    expect(await status(byCode.cookie)).toBe(401)
  })

  it('dsync.group.user_removed ends the person’s sessions that carry the group, only those', async () => {
    const org = await organization()
    const ann = `ann@${org.domain}`
    const withGroup = await ssoSignIn(org, ann, { groups: 'eng, ops' })
    const withoutGroup = await ssoSignIn(org, ann, { groups: 'sales' })
    const bob = await ssoSignIn(org, `bob@${org.domain}`, { groups: 'ops' })
    const event = await emitted('/__directory/groups/ops/remove', 'dsync.group.user_removed', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ann }),
    })
    expect((await deliver(event)).status).toBe(200)
    expect(await status(withGroup)).toBe(401)
    expect(await status(withoutGroup)).toBe(200)
    expect(await status(bob)).toBe(200)
  })

  it('events naming nobody the gateway knows, or not shaped as promised, are accepted and ignored', async () => {
    for (const [event, data] of [
      ['dsync.user.deleted', { object: 'directory_user', id: 'directory_user_x' }],
      ['connection.deactivated', { id: 'conn with spaces' }],
      ['organization_membership.deleted', { user_id: 42 }],
    ] as const) {
      expect((await deliver(await signed(event, data))).status).toBe(200)
    }
  })
})
