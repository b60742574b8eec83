import { afterEach, describe, expect, it } from 'vitest'
import {
  EMULATOR,
  clearFaults,
  deleteAtWorkos,
  deliverWebhook,
  dropDeliveries,
  gateway,
  json,
  runCron,
  signIn,
  signInWithCode,
  uniqueEmail,
  webhookDeliveriesFor,
} from './helpers'

// Lost webhooks, recovered (README "Revocation"): with the emulator dropping webhook deliveries,
// a person deleted at WorkOS keeps their sessions until the Cron Trigger reads WorkOS's Events
// API and applies the event through the same handlers a webhook would have reached.

const status = async (cookie: string) =>
  (await gateway('/auth/me', { headers: { cookie, accept: 'application/json' } })).status

async function userIdOf(cookie: string): Promise<string> {
  const me = (await (await gateway('/auth/me', { headers: { cookie } })).json()) as {
    user: { id: string }
  }
  return me.user.id
}

afterEach(async () => {
  await dropDeliveries(false)
  await clearFaults()
})

describe('a webhook lost in transit', () => {
  it('a user deleted at WorkOS loses access once the cron has read the Events API', async () => {
    // The cursor starts where the events are now: earlier tests' events are not this test's.
    await runCron()
    const email = uniqueEmail('lost')
    const code = await signInWithCode(email)
    const link = await signIn(email)
    const id = await userIdOf(code.cookie)

    expect((await dropDeliveries(true)).status).toBe(200)
    expect((await deleteAtWorkos(id)).status).toBeLessThan(300)
    expect(await webhookDeliveriesFor(id)).toEqual([])
    // Nothing arrived: the sessions still work.
    expect(await status(code.cookie)).toBe(200)

    await runCron()
    expect(await status(code.cookie)).toBe(401)
    expect(await status(link.cookie)).toBe(401)
  })

  it('an event applied from its webhook is not applied again by the cron', async () => {
    await runCron()
    const email = uniqueEmail('delivered')
    const { cookie } = await signInWithCode(email)
    const id = await userIdOf(cookie)
    await deleteAtWorkos(id)
    const [delivery] = await webhookDeliveriesFor(id)
    const delivered = await deliverWebhook(delivery!)
    expect(delivered.status).toBe(200)
    // Signed in again (a new account with the same address): the cron's reading of the old
    // deletion must not end it.
    const again = await signInWithCode(email)
    await runCron()
    expect(await status(again.cookie)).toBe(200)
    expect(await status(cookie)).toBe(401)
  })

  it('a WorkOS failure fails the run and the next run takes up from the same place', async () => {
    await runCron()
    const { cookie } = await signInWithCode(uniqueEmail('retry'))
    const id = await userIdOf(cookie)
    await dropDeliveries(true)
    await deleteAtWorkos(id)
    await fetch(`${EMULATOR}/__faults`, json({ method: 'GET', path: '/events', status: 500 }))
    await expect(runCron()).rejects.toThrow(/scheduled job failed/)
    expect(await status(cookie)).toBe(200)
    await runCron()
    expect(await status(cookie)).toBe(401)
  })
})
