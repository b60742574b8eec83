import { describe, expect, it } from 'vitest'
import { fromAnotherBrowser, json, latestCode, sessionCookieFrom, uniqueEmail } from './helpers'

// An attacker guessing one person's code from many clients (IPv4 and rotating IPv6 addresses, each
// under its per-client limit) gets at most 20 wrong guesses per address per hour, then 429.

const ipv4 = (i: number) => `203.0.113.${10 + i}`
const ipv6 = (i: number) => `2001:db8:${(0x100 + i).toString(16)}::${i + 1}`

/** A pending code for `email`, asked for from `ip` (a fresh send, or the recently-sent answer). */
async function pendingFrom(email: string, ip: string): Promise<string> {
  const response = await fromAnotherBrowser(
    '/auth/magic-auth',
    json({ email }, { 'cf-connecting-ip': ip }),
  )
  expect([200, 429]).toContain(response.status)
  return ((await response.json()) as { pending: string }).pending
}

const guess = (pending: string, code: string, ip: string) =>
  fromAnotherBrowser('/auth/magic-auth/verify', json({ pending, code }, { 'cf-connecting-ip': ip }))

describe('guesses per address, across every client', () => {
  it('allows 20 wrong guesses an hour, then answers 429 with Retry-After, even for the right code', async () => {
    const email = uniqueEmail('target')
    let client = 0
    const nextIp = () => (client++ % 2 === 0 ? ipv4(client) : ipv6(client))
    // Five pending codes (one per send, or per recently-sent answer), four wrong guesses each:
    // under the five-per-code cap, from a different client every time.
    for (let p = 0; p < 5; p++) {
      const pending = await pendingFrom(email, nextIp())
      for (let g = 0; g < 4; g++) {
        const response = await guess(pending, '000000', nextIp())
        expect(response.status).toBe(400)
        expect(await response.json()).toMatchObject({ error: 'invalid_code' })
      }
    }
    const pending = await pendingFrom(email, nextIp())
    const limited = await guess(pending, '000000', nextIp())
    expect(limited.status).toBe(429)
    expect(await limited.json()).toMatchObject({ error: 'too_many_guesses' })
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(3000)
    expect(retryAfter).toBeLessThanOrEqual(3600)
    // The right code is refused as well while the address is locked for guessing.
    const right = await guess(pending, await latestCode(email), nextIp())
    expect(right.status).toBe(429)
    expect(sessionCookieFrom(right)).toBeUndefined()
  })

  it('one address being guessed at does not limit another', async () => {
    const email = uniqueEmail('bystander')
    const pending = await pendingFrom(email, ipv4(200))
    const response = await guess(pending, await latestCode(email), ipv4(201))
    expect(response.status).toBe(200)
  })
})
