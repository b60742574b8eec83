import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { sha256 } from '../src/crypto'
import { emulatorSdk } from './emulator-sdk'
import {
  EMULATOR,
  type WebhookDelivery,
  deliverWebhook,
  gateway,
  gatewayWith,
  json,
  latestLink,
  openLink,
  pathOf,
  sessionCookieFrom,
  signIn,
  signInWithCode,
  uniqueEmail,
  webhookDeliveriesFor,
  countingKv,
  ADMIN_TOKEN,
  sessionIdOf,
  meStatus,
} from './helpers'

const kv = env.SESSIONS
const ADMIN = ADMIN_TOKEN
const idOf = sessionIdOf
const status = meStatus

/** Signs the same person in from two browsers (each with its own sign-in request). */
async function twoDevices(email = uniqueEmail()) {
  const laptop = await signIn(email)
  await gateway('/auth/magic-link', json({ email }))
  const phoneResponse = await gateway(pathOf(await openLink(await latestLink(email))), {
    headers: {
      'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1',
    },
  })
  return { email, laptop: laptop.cookie, phone: sessionCookieFrom(phoneResponse)! }
}

async function ageSession(cookie: string, changes: (record: Record<string, number>) => object) {
  const key = `session:${await sha256(idOf(cookie))}`
  const record = JSON.parse((await kv.get(key, 'text'))!)
  await kv.put(key, JSON.stringify({ ...record, ...changes(record) }), { expirationTtl: 3600 })
}

describe('sliding refresh, idle timeout and absolute lifetime', () => {
  it('renews a session used after half its idle window: one KV write, then none', async () => {
    const settings = { SESSION_IDLE_TIMEOUT_SECONDS: '600' }
    const { cookie } = await signIn()
    await ageSession(cookie, () => ({
      lastSeenAt: Date.now() - 301_000,
      idleExpiresAt: Date.now() + 299_000,
    }))
    const first = countingKv()
    expect(
      (await gatewayWith({ ...settings, SESSIONS: first.binding }, '/x', { headers: { cookie } }))
        .status,
    ).toBe(200)
    // One read (the session with its end markers, in one bulk read) and the one write.
    expect(first.counts).toMatchObject({ get: 1, put: 1 })
    const record = JSON.parse((await kv.get(`session:${await sha256(idOf(cookie))}`, 'text'))!)
    expect(record.idleExpiresAt - Date.now()).toBeGreaterThan(590_000)
    expect(Date.now() - record.lastSeenAt).toBeLessThan(5000)
    const second = countingKv()
    await gatewayWith({ ...settings, SESSIONS: second.binding }, '/x', { headers: { cookie } })
    expect(second.counts).toMatchObject({ get: 1, put: 0 })
  })

  it('never renews past the absolute lifetime', async () => {
    const { cookie } = await signIn()
    const end = Date.now() + 30_000
    await ageSession(cookie, () => ({ lastSeenAt: Date.now() - 50_000_000, expiresAt: end }))
    await gatewayWith({}, '/x', { headers: { cookie } })
    const record = JSON.parse((await kv.get(`session:${await sha256(idOf(cookie))}`, 'text'))!)
    expect(record.idleExpiresAt).toBe(end)
  })

  it('ends a session left idle past its idle window', async () => {
    const { cookie } = await signIn()
    await ageSession(cookie, () => ({ idleExpiresAt: Date.now() - 1 }))
    expect(await status(cookie)).toBe(401)
  })

  it('refuses an idle timeout longer than the lifetime', async () => {
    const response = await gatewayWith(
      { SESSION_TTL_SECONDS: '3600', SESSION_IDLE_TIMEOUT_SECONDS: '7200' },
      '/healthz',
    )
    expect(response.status).toBe(500)
  })
})

describe('the sessions page', () => {
  it('lists the person’s sessions as JSON, marking this one', async () => {
    const { laptop, phone } = await twoDevices()
    const response = await gateway('/auth/sessions', { headers: { cookie: laptop } })
    expect(response.status).toBe(200)
    const { sessions } = (await response.json()) as { sessions: Record<string, unknown>[] }
    expect(sessions).toHaveLength(2)
    for (const session of sessions) {
      expect(Object.keys(session).sort()).toEqual(
        ['createdAt', 'current', 'host', 'ip', 'lastSeenAt', 'sid', 'userAgent'].sort(),
      )
    }
    expect(sessions.filter((s) => s.current)).toHaveLength(1)
    const sids = sessions.map((s) => s.sid as string)
    for (const cookie of [laptop, phone]) expect(sids.join()).not.toContain(idOf(cookie))
    expect(sessions.some((s) => String(s.userAgent).includes('iPhone'))).toBe(true)
  })

  it('shows a page with the devices and a sign-out for each', async () => {
    const { laptop } = await twoDevices()
    const html = await (
      await gateway('/auth/sessions', { headers: { cookie: laptop, accept: 'text/html' } })
    ).text()
    expect(html).toContain('Safari on iOS')
    expect(html).toContain('This browser')
    expect(html).toContain('Sign out everywhere')
    expect(html.match(/\/auth\/sessions\/[^/]+\/revoke/g)).toHaveLength(2)
  })

  it('sends a browser without a session to sign in first', async () => {
    const response = await gateway('/auth/sessions', { headers: { accept: 'text/html' } })
    expect(response.headers.get('location')).toBe('/auth/login?returnTo=%2Fauth%2Fsessions')
    expect((await gateway('/auth/sessions')).status).toBe(401)
  })
})

describe('revoking sessions', () => {
  it('ends one other session by its sid; this one stays', async () => {
    const { laptop, phone } = await twoDevices()
    const { sessions } = (await (
      await gateway('/auth/sessions', { headers: { cookie: laptop } })
    ).json()) as {
      sessions: { sid: string; current: boolean }[]
    }
    const other = sessions.find((s) => !s.current)!
    const started = Date.now()
    const response = await gateway(
      `/auth/sessions/${other.sid}/revoke`,
      json({}, { cookie: laptop }),
    )
    expect(response.status).toBe(200)
    expect(await status(phone)).toBe(401)
    const lagMs = Date.now() - started
    expect(lagMs).toBeLessThan(5000) // locally, the next request already sees it
    expect(await status(laptop)).toBe(200)
  })

  it('cannot end someone else’s session, nor an unknown one', async () => {
    const mine = await signIn()
    const theirs = await signIn()
    const { sessions } = (await (
      await gateway('/auth/sessions', { headers: { cookie: theirs.cookie } })
    ).json()) as {
      sessions: { sid: string }[]
    }
    const response = await gateway(
      `/auth/sessions/${sessions[0]!.sid}/revoke`,
      json({}, { cookie: mine.cookie }),
    )
    expect(response.status).toBe(404)
    expect(await status(theirs.cookie)).toBe(200)
  })

  it('signs out everywhere', async () => {
    const { laptop, phone } = await twoDevices()
    const response = await gateway('/auth/logout', json({ everywhere: true }, { cookie: phone }))
    expect(response.status).toBe(200)
    expect(await status(laptop)).toBe(401)
    expect(await status(phone)).toBe(401)
  })

  it('signs out everywhere from the form (everywhere=1)', async () => {
    const { laptop, phone } = await twoDevices()
    const response = await gateway('/auth/logout', {
      method: 'POST',
      headers: {
        cookie: laptop,
        origin: 'https://gateway.test',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'everywhere=1',
    })
    expect(response.status).toBe(303)
    expect(await status(phone)).toBe(401)
  })
})

describe('admin revocation', () => {
  const admin = (body: unknown, token = ADMIN) =>
    gateway('/auth/admin/revoke', json(body, { authorization: `Bearer ${token}` }))

  it('ends every session of a person by email, across both sign-in methods', async () => {
    const email = uniqueEmail()
    const link = await signIn(email)
    const code = await signInWithCode(email)
    const response = await admin({ email: email.toUpperCase() })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ success: true, revoked: 2 })
    expect(await status(link.cookie)).toBe(401)
    expect(await status(code.cookie)).toBe(401)
  })

  it('ends every session of a person by WorkOS user id', async () => {
    const { cookie } = await signInWithCode()
    const { user } = (await (await gateway('/auth/me', { headers: { cookie } })).json()) as {
      user: { id: string }
    }
    expect(await (await admin({ userId: user.id })).json()).toEqual({ success: true, revoked: 1 })
    expect(await status(cookie)).toBe(401)
  })

  it('refuses a missing or wrong token (401) and changes nothing', async () => {
    const { cookie, email } = await signIn()
    for (const token of ['', 'wrong', ADMIN.slice(0, -1), `${ADMIN}x`]) {
      expect((await admin({ email }, token)).status).toBe(401)
    }
    expect((await gateway('/auth/admin/revoke', json({ email }))).status).toBe(401)
    expect(await status(cookie)).toBe(200)
  })

  it('is off without ADMIN_TOKEN', async () => {
    const response = await gatewayWith(
      { ADMIN_TOKEN: undefined },
      '/auth/admin/revoke',
      json({ email: 'a@b.co' }, { authorization: `Bearer ${ADMIN}` }),
    )
    expect(response.status).toBe(404)
  })

  it('refuses a body that names nobody', async () => {
    expect((await admin({})).status).toBe(400)
    expect((await admin({ email: 'not-an-email' })).status).toBe(400)
  })
})

describe('WorkOS-driven revocation (webhooks)', () => {
  const workos = emulatorSdk()

  async function userOf(cookie: string) {
    return (
      (await (await gateway('/auth/me', { headers: { cookie } })).json()) as {
        user: { id: string; firstName: string | null }
      }
    ).user
  }

  it('user.deleted ends every session of that person (codes and links)', async () => {
    const email = uniqueEmail('deleted')
    const code = await signInWithCode(email)
    const link = await signIn(email)
    const { id } = await userOf(code.cookie)
    await workos.userManagement.deleteUser(id)
    const [delivery] = await webhookDeliveriesFor(id)
    expect(delivery?.event).toBe('user.deleted')
    const response = await deliverWebhook(delivery!)
    expect(response.status).toBe(200)
    expect(await status(code.cookie)).toBe(401)
    expect(await status(link.cookie)).toBe(401)
  })

  it('user.updated with a new email ends the sessions; with a new name, updates them', async () => {
    const renamed = await signInWithCode()
    const renamedUser = await userOf(renamed.cookie)
    await workos.userManagement.updateUser({
      userId: renamedUser.id,
      firstName: 'Ada',
      lastName: 'Lovelace',
    })
    expect((await deliverWebhook((await webhookDeliveriesFor(renamedUser.id))[0]!)).status).toBe(
      200,
    )
    expect(await status(renamed.cookie)).toBe(200)
    expect((await userOf(renamed.cookie)).firstName).toBe('Ada')

    const moved = await signInWithCode()
    const movedUser = await userOf(moved.cookie)
    await workos.userManagement.updateUser({ userId: movedUser.id, email: uniqueEmail('moved') })
    expect((await deliverWebhook((await webhookDeliveriesFor(movedUser.id))[0]!)).status).toBe(200)
    expect(await status(moved.cookie)).toBe(401)
  })

  it('refuses a bad signature, a stale or future timestamp, and a replay: 400, nothing changes', async () => {
    const { cookie, email } = await signInWithCode()
    const { id } = await userOf(cookie)
    const sign = async (at: number) =>
      (await (
        await fetch(
          `${EMULATOR}/__webhooks/sign`,
          json({ event: 'user.deleted', data: { object: 'user', id, email }, at }),
        )
      ).json()) as WebhookDelivery
    const fresh = await sign(Date.now())
    const tampered = { ...fresh, body: fresh.body.replace(email, 'other@example.com') }
    const badSignature = {
      ...fresh,
      signature: fresh.signature.replace(
        /v1=(.)/,
        (_, ch: string) => `v1=${ch === '0' ? '1' : '0'}`,
      ),
    }
    for (const delivery of [
      tampered,
      badSignature,
      { ...fresh, signature: '' },
      await sign(Date.now() - 10 * 60_000),
      await sign(Date.now() + 10 * 60_000),
    ]) {
      const response = await deliverWebhook(delivery)
      expect(response.status).toBe(400)
      expect(await status(cookie)).toBe(200)
    }
    // The genuine delivery works once; the same delivery replayed, even re-spaced, is refused.
    expect((await deliverWebhook(fresh)).status).toBe(200)
    expect(await status(cookie)).toBe(401)
    expect((await deliverWebhook(fresh)).status).toBe(400)
    expect(
      (await deliverWebhook({ ...fresh, signature: fresh.signature.replace(', ', ',') })).status,
    ).toBe(400)
  })

  it('accepts and ignores events it does not act on', async () => {
    const delivery = (await (
      await fetch(
        `${EMULATOR}/__webhooks/sign`,
        json({ event: 'organization.created', data: { id: 'org_1', name: 'x' } }),
      )
    ).json()) as WebhookDelivery
    expect((await deliverWebhook(delivery)).status).toBe(200)
  })
})
