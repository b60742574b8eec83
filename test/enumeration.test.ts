import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { afterEach, describe, expect, it } from 'vitest'
import worker from '../src/index'
import {
  EMULATOR,
  GATEWAY,
  armFault,
  clearFaults,
  cookieFrom,
  form,
  json,
  latestCode,
  mailFor,
  signInWithCode,
  uniqueEmail,
} from './helpers'

// With sign-up closed, nothing the gateway answers may tell an address with an account from one
// without: not the status, not the body, not the time it takes (the mail provider is slow here, and
// only known addresses get mail), and not the answers to guessed codes.

afterEach(clearFaults)

const PROVIDER_DELAY_MS = 600
const custom = { EMAIL_DELIVERY: 'custom' }

/** Sends as a fresh client; resolves when the answer arrives, before background work ends. */
async function timedSend(route: string, body: Record<string, unknown>, init = json(body)) {
  const ctx = createExecutionContext()
  const request = new Request(`${GATEWAY}${route}`, { redirect: 'manual', ...init })
  request.headers.set('cf-connecting-ip', `198.51.100.${Math.floor(Math.random() * 250)}`)
  const started = performance.now()
  const response = await worker.fetch(request, { ...env, ...custom } as Env, ctx)
  const ms = performance.now() - started
  const text = await response.text()
  await waitOnExecutionContext(ctx)
  return { response, ms, text }
}

async function closedDomain() {
  const domain = `closed-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}.example`
  await fetch(`${EMULATOR}/__signup-blocked`, json({ domain }))
  return domain
}

describe('account enumeration with sign-up closed', () => {
  it('sending a code: same status, same body shape, same timing class with a slow provider', async () => {
    const domain = await closedDomain()
    const known = uniqueEmail('known')
    await signInWithCode(known)
    await armFault({ method: 'POST', path: '/emails', delayMs: PROVIDER_DELAY_MS, count: 20 })
    const answers: { who: string; status: number; keys: string[]; ms: number }[] = []
    for (let round = 0; round < 2; round++) {
      for (const [who, email] of [
        ['known', known],
        ['unknown', `new${round}@${domain}`],
      ] as const) {
        const { response, ms, text } = await timedSend('/auth/magic-auth', { email })
        answers.push({ who, status: response.status, keys: Object.keys(JSON.parse(text)), ms })
      }
    }
    for (const answer of answers) {
      expect(answer.status).toBe(200)
      expect(answer.keys).toEqual(['success', 'pending'])
      // Neither waits for the provider: the email goes out after the answer.
      expect(answer.ms).toBeLessThan(PROVIDER_DELAY_MS)
    }
    // The known address did get its codes (in the background), the unknown ones nothing.
    expect((await mailFor(known)).filter((m) => m.via === 'provider').length).toBeGreaterThan(0)
    expect(await mailFor(`new0@${domain}`)).toHaveLength(0)
  })

  it('sending a link: the same answer, including when WorkOS refuses to create the account', async () => {
    const known = await timedSend('/auth/magic-link', { email: uniqueEmail() })
    await armFault({
      method: 'POST',
      path: '/passwordless/sessions',
      status: 400,
      body: { error: 'sign_up_not_allowed', error_description: 'Sign-up is not allowed.' },
    })
    const unknown = await timedSend('/auth/magic-link', { email: uniqueEmail() })
    expect(unknown.response.status).toBe(known.response.status)
    expect(unknown.text).toBe(known.text)
    expect(unknown.text).not.toMatch(/account|sign_up/)
  })

  it('a browser form: the same redirect for both', async () => {
    const domain = await closedDomain()
    const known = uniqueEmail('known')
    await signInWithCode(known)
    const headers = { origin: GATEWAY, accept: 'text/html' }
    for (const route of ['/auth/magic-auth', '/auth/magic-link']) {
      const a = await timedSend(route, {}, form({ email: known }, headers))
      const b = await timedSend(route, {}, form({ email: `x@${domain}` }, headers))
      expect(a.response.status).toBe(303)
      expect(b.response.headers.get('location')).toBe(a.response.headers.get('location'))
    }
  })

  it('guessing codes: a known address with a live code answers exactly like an unknown one', async () => {
    const domain = await closedDomain()
    const known = uniqueEmail('known')
    await signInWithCode(known)
    const sequences: string[][] = []
    for (const email of [known, `ghost@${domain}`]) {
      const sent = await timedSend('/auth/magic-auth', { email })
      const { pending } = JSON.parse(sent.text) as { pending: string }
      const answers: string[] = []
      for (let i = 0; i < 7; i++) {
        const { text } = await timedSend(
          '/auth/magic-auth/verify',
          {},
          json({ pending, code: '000000' }),
        )
        answers.push(text)
      }
      sequences.push(answers)
    }
    expect(sequences[0]).toEqual(sequences[1])
    expect(sequences[0]!.map((t) => (JSON.parse(t) as { error: string }).error)).toEqual([
      ...Array(5).fill('invalid_code'),
      'too_many_attempts',
      'too_many_attempts',
    ])
    // The known address's real code was there all along (and is now refused too).
    expect(await latestCode(known)).toMatch(/^\d{6}$/)
  })

  it('verify cannot be used to probe an address that did not ask for a code here', async () => {
    for (const email of [uniqueEmail(), `nobody@${await closedDomain()}`]) {
      const { response, text } = await timedSend(
        '/auth/magic-auth/verify',
        {},
        json({ email, code: '123456' }),
      )
      expect(response.status).toBe(400)
      expect(JSON.parse(text)).toMatchObject({ error: 'code_not_requested' })
    }
  })

  it('the pending token is sealed: it names no address', async () => {
    const email = uniqueEmail('sealed')
    const { response, text } = await timedSend('/auth/magic-auth', { email })
    const { pending } = JSON.parse(text) as { pending: string }
    const cookie = cookieFrom(response, '__Host-magic-auth')!
    for (const value of [pending, cookie]) {
      const bytes = atob(value.replace(/^.*=/, '').replace(/-/g, '+').replace(/_/g, '/'))
      expect(value).not.toContain('sealed')
      expect(bytes).not.toContain('example.com')
      expect(bytes).not.toContain('returnTo')
    }
  })
})
