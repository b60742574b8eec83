import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { sha256 } from '../src/crypto'
import worker from '../src/index'
import { emulatorSdk } from './emulator-sdk'
import {
  GATEWAY,
  controlledKv,
  gateway,
  json,
  latestLink,
  openLink,
  pathOf,
  sessionCookieFrom,
  signIn,
  signInWithCode,
  uniqueEmail,
  ADMIN_TOKEN,
  sessionIdOf,
  sessionKvKeyOf,
  meStatus,
  webhookDeliveriesFor,
} from './helpers'

// A revocation is final: whatever order KV applies the writes in, and wherever a session was made,
// a session ended by sign-out, sign-out everywhere, an admin or a webhook never answers again.

const kv = env.SESSIONS
const ADMIN = ADMIN_TOKEN
const idOf = sessionIdOf
const sessionKeyOf = sessionKvKeyOf
const status = meStatus

/** A request through the Worker with a different SESSIONS binding; background work may go on. */
async function startRequest(binding: KVNamespace, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext()
  const request = new Request(`${GATEWAY}${path}`, { redirect: 'manual', ...init })
  const response = await worker.fetch(request, { ...env, SESSIONS: binding } as Env, ctx)
  return { response, settled: () => waitOnExecutionContext(ctx) }
}

/** Makes the session's next request renew it (used after half its idle window). */
async function dueForRefresh(cookie: string) {
  const key = await sessionKeyOf(cookie)
  const record = JSON.parse((await kv.get(key, 'text'))!)
  const lastSeenAt = Date.now() - 13 * 3600_000
  await kv.put(key, JSON.stringify({ ...record, lastSeenAt }), { expirationTtl: 3600 })
}

const holdSessionWrites = () =>
  controlledKv({ hold: (op, key) => op === 'put' && key.startsWith('session:') })

describe('a revocation is final', () => {
  it('a sliding refresh that lands after sign-out does not bring the session back', async () => {
    const { cookie } = await signIn()
    await dueForRefresh(cookie)
    const slow = holdSessionWrites()
    const used = await startRequest(slow.binding, '/x', { headers: { cookie } })
    expect(used.response.status).toBe(200)
    expect(slow.held()).toEqual(['put session'])
    // Sign-out happens while the refresh is still on its way …
    const out = await gateway('/auth/logout', json({}, { cookie }))
    expect(out.status).toBe(200)
    // … and the refresh lands afterwards: the value is back in KV, the session is not.
    await slow.release()
    await used.settled()
    expect(await kv.get(await sessionKeyOf(cookie))).not.toBeNull()
    expect(await status(cookie)).toBe(401)
  })

  const PERMUTATIONS = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ]

  it.each(PERMUTATIONS)(
    'the end holds whatever order KV lands a refresh and a sign-out in (%j)',
    async (...order) => {
      const { cookie } = await signIn()
      await dueForRefresh(cookie)
      // Every write is accepted at once and lands later, in the order under test.
      const kvLater = controlledKv({ hold: () => true, acknowledgeAtOnce: true })
      const used = await startRequest(kvLater.binding, '/x', { headers: { cookie } })
      await used.settled()
      const out = await startRequest(kvLater.binding, '/auth/logout', json({}, { cookie }))
      expect(out.response.status).toBe(200)
      await out.settled()
      expect(kvLater.held()).toEqual(['put session', 'put ended', 'delete session'])
      await kvLater.release(order)
      expect(await status(cookie)).toBe(401)
    },
  )

  it('sign out everywhere ends a session that KV’s listing has not caught up with', async () => {
    const email = uniqueEmail('unlisted')
    const laptop = await signIn(email)
    await gateway('/auth/magic-link', json({ email }))
    const phone = sessionCookieFrom(
      await gateway(pathOf(await openLink(await latestLink(email))), {
        headers: { 'user-agent': 'phone' },
      }),
    )!
    // The phone's session was made "elsewhere": the listing does not show it yet.
    const phoneIndexEntry = await sha256(idOf(phone))
    const lagging = controlledKv({ hideFromList: (key) => key.endsWith(phoneIndexEntry) })
    const out = await startRequest(
      lagging.binding,
      '/auth/logout',
      json({ everywhere: true }, { cookie: laptop.cookie }),
    )
    expect(out.response.status).toBe(200)
    await out.settled()
    // The listing missed it, so its value is still in KV; the person's revocation time ends it.
    expect(await kv.get(await sessionKeyOf(phone))).not.toBeNull()
    expect(await status(phone)).toBe(401)
    expect(await status(laptop.cookie)).toBe(401)
    // A sign-in after the revocation is a new session, and it works.
    expect(await status((await signIn(email)).cookie)).toBe(200)
  })

  it('an admin revocation holds against a webhook’s rename that lands after it', async () => {
    const workos = emulatorSdk()
    const { cookie, email } = await signInWithCode()
    const me = (await (await gateway('/auth/me', { headers: { cookie } })).json()) as {
      user: { id: string }
    }
    await workos.userManagement.updateUser({ userId: me.user.id, firstName: 'Late' })
    const deliveries = await webhookDeliveriesFor(me.user.id)
    const slow = holdSessionWrites()
    // The webhook reads the session and starts rewriting it with the new name …
    const webhook = startRequest(slow.binding, '/auth/webhooks/workos', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'workos-signature': deliveries[0]!.signature },
      body: deliveries[0]!.body,
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(slow.held()).toEqual(['put session'])
    // … an operator revokes the person meanwhile, and the rename lands last.
    const revoked = await gateway(
      '/auth/admin/revoke',
      json({ email }, { authorization: `Bearer ${ADMIN}` }),
    )
    expect(await revoked.json()).toMatchObject({ success: true, revoked: 1 })
    await slow.release()
    expect((await (await webhook).response).status).toBe(200)
    expect(await status(cookie)).toBe(401)
  })
})
