import { env, exports } from 'cloudflare:workers'
import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { sha256 } from '../src/crypto'
import worker from '../src/index'

export const GATEWAY = 'https://gateway.test'
// Set by vitest.config.mts from the emulator that test/setup/global-setup.ts started.
export const EMULATOR = (env as unknown as Record<string, string>).WORKOS_API_URL!

let counter = 0
/** A fresh address per call: test files share one emulator, so mail is picked by recipient. */
export function uniqueEmail(label = 'person'): string {
  counter += 1
  return `${label}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}@example.com`
}

// The suite acts as one browser for the cookies that tie a sign-in to the browser that started
// it: the sign-in nonce (`__Host-signin`, a link) and the pending code (`__Host-magic-auth`, a
// code). Requests carry them, responses update them. A test that plays another browser uses
// `fromAnotherBrowser`.
const BROWSER_COOKIES = ['__Host-signin', '__Host-magic-auth']
const browserCookies = new Map<string, string>()

function asThisBrowser(path: string, init?: RequestInit): Request {
  const request = new Request(`${GATEWAY}${path}`, { redirect: 'manual', ...init })
  if (!request.headers.has('cf-connecting-ip')) {
    // A different client address per request, so the per-IP send limit only trips where a test
    // means it to.
    request.headers.set('cf-connecting-ip', `198.18.${randomByte()}.${randomByte()}`)
  }
  let cookie = request.headers.get('cookie') ?? ''
  for (const [name, pair] of browserCookies) {
    if (!cookie.includes(`${name}=`)) cookie = cookie ? `${cookie}; ${pair}` : pair
  }
  if (cookie) request.headers.set('cookie', cookie)
  return request
}

const randomByte = () => Math.floor(Math.random() * 256)

function rememberSigninCookie(response: Response): Response {
  for (const header of response.headers.getSetCookie()) {
    const [pair = ''] = header.split(';')
    const name = BROWSER_COOKIES.find((n) => pair.startsWith(`${n}=`))
    if (!name) continue
    if (/Max-Age=0/i.test(header) || pair === `${name}=`) browserCookies.delete(name)
    else browserCookies.set(name, pair)
  }
  return response
}

/** A request to the gateway as deployed (the Worker's default export, real KV, real SDK). */
export async function gateway(path: string, init?: RequestInit): Promise<Response> {
  return rememberSigninCookie(await exports.default.fetch(asThisBrowser(path, init)))
}

/** A request from a browser that never asked for a sign-in (another device, a victim). */
export function fromAnotherBrowser(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${GATEWAY}${path}`, { redirect: 'manual', ...init }))
}

/** The same Worker with some bindings replaced: for settings other than the test defaults. */
export async function gatewayWith(
  overrides: Record<string, unknown>,
  path: string,
  init?: RequestInit,
): Promise<Response> {
  const ctx = createExecutionContext()
  const response = await worker.fetch(
    asThisBrowser(path, init),
    { ...env, ...overrides } as Env,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  return rememberSigninCookie(response)
}

/**
 * A request through the Worker with some bindings replaced, to any host (a bare path goes to the
 * gateway), from one fixed client address unless the request names its own. No browser cookies.
 */
export async function gatewayAt(
  url: string,
  init: RequestInit & { cf?: object } = {},
  overrides: Record<string, unknown> = {},
): Promise<Response> {
  const ctx = createExecutionContext()
  const request = new Request(url.startsWith('http') ? url : `${GATEWAY}${url}`, {
    redirect: 'manual',
    ...init,
  })
  if (!request.headers.has('cf-connecting-ip'))
    request.headers.set('cf-connecting-ip', '198.51.100.9')
  const response = await worker.fetch(request, { ...env, ...overrides } as Env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
})

export const form = (
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): RequestInit => ({
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    origin: GATEWAY,
    accept: 'text/html',
    ...headers,
  },
  body: new URLSearchParams(fields).toString(),
})

export interface MailboxEntry {
  via: 'workos' | 'provider'
  to: string
  subject: string
  link: string | null
  code: string | null
  sentAt: string
}

export async function mailFor(email: string): Promise<MailboxEntry[]> {
  const response = await fetch(`${EMULATOR}/__mailbox?to=${encodeURIComponent(email)}`)
  return ((await response.json()) as { messages: MailboxEntry[] }).messages
}

export async function latestLink(email: string): Promise<string> {
  const [message] = await mailFor(email)
  if (!message?.link) throw new Error(`no link was mailed to ${email}`)
  return message.link
}

/** Opens a link as a browser would, without following the redirect; returns where it points. */
export async function openLink(link: string): Promise<string> {
  const response = await fetch(link, { redirect: 'manual' })
  await response.body?.cancel()
  const location = response.headers.get('location')
  if (!location) throw new Error(`link answered ${response.status} without a redirect`)
  return location
}

/** Path and query of an absolute URL on the gateway. */
export function pathOf(url: string): string {
  const parsed = new URL(url)
  return parsed.pathname + parsed.search
}

/** `name=value` of the session cookie a response sets, or undefined. */
export function sessionCookieFrom(response: Response): string | undefined {
  for (const header of response.headers.getSetCookie()) {
    const [pair] = header.split(';')
    if (pair?.startsWith('__Host-session=') && pair.length > '__Host-session='.length) return pair
  }
  return undefined
}

export async function armFault(fault: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${EMULATOR}/__faults`, json(fault))
  if (response.status !== 201) throw new Error(`fault refused: ${await response.text()}`)
}

export async function clearFaults(): Promise<void> {
  await fetch(`${EMULATOR}/__faults`, { method: 'DELETE' })
}

export async function expireEverythingFor(email: string): Promise<void> {
  await fetch(`${EMULATOR}/__expire`, json({ email }))
}

/** Deletes a WorkOS user at the emulator, as an administrator would in the WorkOS dashboard. */
export const deleteAtWorkos = (id: string) =>
  fetch(`${EMULATOR}/user_management/users/${id}`, {
    method: 'DELETE',
    headers: { authorization: 'Bearer sk_test_emulator' },
  })

/** While `drop` holds, the emulator loses every webhook delivery (its Events API still has them). */
export const dropDeliveries = (drop: boolean) =>
  fetch(`${EMULATOR}/__webhooks/delivery`, json({ drop }))

/** A webhook the emulator delivered for a WorkOS user (a dropped one is not recorded). */
export interface WebhookDelivery {
  event: string
  body: string
  signature: string
}

/** The webhooks the emulator recorded for this WorkOS user. */
export async function webhookDeliveriesFor(userId: string): Promise<WebhookDelivery[]> {
  const response = await fetch(`${EMULATOR}/__webhooks?user=${userId}`)
  return ((await response.json()) as { deliveries: WebhookDelivery[] }).deliveries
}

/** A recorded webhook posted to the gateway, as WorkOS posts it. */
export const deliverWebhook = (delivery: Pick<WebhookDelivery, 'body' | 'signature'>) =>
  gateway('/auth/webhooks/workos', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'workos-signature': delivery.signature },
    body: delivery.body,
  })

/** One run of the Worker's Cron Trigger (the WorkOS events poll), to its end. */
export async function runCron(): Promise<void> {
  const ctx = createExecutionContext()
  await worker.scheduled!(createScheduledController({ cron: '* * * * *' }), env, ctx)
  await waitOnExecutionContext(ctx)
}

/** Walks the whole Magic Link sign-in and returns the session cookie and where it landed. */
export async function signIn(
  email = uniqueEmail(),
  returnTo = '/',
): Promise<{ cookie: string; location: string; email: string }> {
  const requested = await gateway('/auth/magic-link', json({ email, returnTo }))
  if (requested.status !== 200) throw new Error(`magic-link answered ${requested.status}`)
  const callback = await openLink(await latestLink(email))
  const response = await gateway(pathOf(callback))
  const cookie = sessionCookieFrom(response)
  if (!cookie) throw new Error(`callback answered ${response.status} without a session`)
  return { cookie, location: response.headers.get('location') ?? '', email }
}

export async function latestCode(email: string): Promise<string> {
  const message = (await mailFor(email)).find((m) => m.code)
  if (!message?.code) throw new Error(`no code was mailed to ${email}`)
  return message.code
}

/** `name=value` of a cookie a response sets (not a clearing one), or undefined. */
export function cookieFrom(response: Response, name: string): string | undefined {
  for (const header of response.headers.getSetCookie()) {
    const [pair] = header.split(';')
    if (pair?.startsWith(`${name}=`) && pair.length > name.length + 1) return pair
  }
  return undefined
}

/** Walks the whole Magic Auth sign-in (code) and returns the session cookie. */
export async function signInWithCode(
  email = uniqueEmail(),
  returnTo = '/',
): Promise<{ cookie: string; email: string; returnTo: string }> {
  const requested = await gateway('/auth/magic-auth', json({ email, returnTo }))
  if (requested.status !== 200) throw new Error(`magic-auth answered ${requested.status}`)
  const pending = cookieFrom(requested, '__Host-magic-auth')!
  const verified = await gateway(
    '/auth/magic-auth/verify',
    json({ email, code: await latestCode(email) }, { cookie: pending }),
  )
  const cookie = sessionCookieFrom(verified)
  if (!cookie) throw new Error(`verify answered ${verified.status} without a session`)
  const body = (await verified.json()) as { returnTo: string }
  return { cookie, email, returnTo: body.returnTo }
}

/** A fresh ES256 private JWK with a kid, as `npm run keys` makes. */
export async function newAssertionKey(kid = `k-${Math.random().toString(36).slice(2, 8)}`) {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  return { ...((await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey), kid }
}

/**
 * The real KV binding behind a thin wrapper that counts what the gateway does with it (a platform
 * probe, not a mock: every call goes through to KV).
 */
export function countingKv() {
  const counts = { get: 0, put: 0, delete: 0, list: 0 }
  const binding = new Proxy(env.SESSIONS, {
    get(target, name: string) {
      const value = (target as unknown as Record<string, unknown>)[name]
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (name in counts) counts[name as keyof typeof counts]++
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { counts, binding }
}

/**
 * The real KV binding behind a wrapper that can hold writes and deletes back and let them land
 * later, in order or reversed, and hide keys from `list` (KV's list lags writes made elsewhere by
 * up to a minute). Every operation still goes to real KV; only its timing and visibility change.
 */
export function controlledKv(options: {
  hold?: (op: 'put' | 'delete', key: string) => boolean
  /**
   * Held operations answer the caller at once, as a write does that KV has accepted but not yet
   * made visible, rather than waiting to land.
   */
  acknowledgeAtOnce?: boolean
  hideFromList?: (key: string) => boolean
}) {
  const held: { op: string; key: string; run: () => Promise<unknown>; done: () => void }[] = []
  const target = env.SESSIONS
  const binding = new Proxy(target, {
    get(kv, name: string) {
      const value = (kv as unknown as Record<string, unknown>)[name]
      if (typeof value !== 'function') return value
      const call = (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(kv, args)
      if ((name === 'put' || name === 'delete') && options.hold) {
        return (...args: unknown[]) => {
          const key = String(args[0])
          if (!options.hold!(name, key)) return call(...args)
          const landed = new Promise<void>((done) => {
            held.push({ op: name, key, run: async () => call(...args), done })
          })
          return options.acknowledgeAtOnce ? Promise.resolve() : landed
        }
      }
      if (name === 'list' && options.hideFromList) {
        return async (...args: unknown[]) => {
          const page = (await call(...args)) as KVNamespaceListResult<unknown, string>
          return { ...page, keys: page.keys.filter((k) => !options.hideFromList!(k.name)) }
        }
      }
      return call
    },
  })
  return {
    binding,
    /** Operations held back so far: "put session:…", "delete session:…". */
    held: () => held.map(({ op, key }) => `${op} ${key.split(':')[0]}`),
    /**
     * Lets the held operations land, one after another: as issued, reversed, or in the order of
     * the given indexes (a permutation of the held operations).
     */
    async release(order: 'as-issued' | 'reversed' | readonly number[] = 'as-issued') {
      const issued = held.splice(0, held.length)
      const batch =
        order === 'as-issued'
          ? issued
          : order === 'reversed'
            ? [...issued].reverse()
            : order.map((index) => issued[index]!)
      for (const operation of batch) {
        await operation.run()
        operation.done()
      }
    },
  }
}

// One session per address for a whole test file: each sign-in mails the address, and sends per
// address are limited (3 a minute), so files that need many signed-in requests share them.
const sessionsByEmail = new Map<string, Promise<string>>()

/** The session cookie of `email`, signing in (by link) the first time it is asked for. */
export function sessionFor(email = uniqueEmail()): Promise<string> {
  if (!sessionsByEmail.has(email))
    sessionsByEmail.set(
      email,
      signIn(email).then((s) => s.cookie),
    )
  return sessionsByEmail.get(email)!
}

/** The admin token the test configuration sets (vitest.config.mts). */
export const ADMIN_TOKEN = 'test-admin-token-0123456789-abcdefghijkl'

/** The session id inside a `__Host-session=<id>.<person>.<signature>` cookie pair. */
export const sessionIdOf = (cookie: string) => cookie.slice('__Host-session='.length).split('.')[0]!

/** The KV key of a cookie's session record. */
export const sessionKvKeyOf = async (cookie: string) =>
  `session:${await sha256(sessionIdOf(cookie))}`

/** What /auth/me answers with this cookie: 200 signed in, 401 not. */
export const meStatus = async (cookie: string) =>
  (await gateway('/auth/me', { headers: { cookie } })).status

/** The settings of a deployed gateway (no dev mode, no emulator), for tests of what only holds there. */
export async function productionSettings(): Promise<Record<string, unknown>> {
  return {
    DEV_MODE: undefined,
    WORKOS_API_URL: undefined,
    WORKOS_API_KEY: 'sk_live_abc123',
    WORKOS_CLIENT_ID: 'client_abc',
    ASSERTION_KEYS: JSON.stringify([await newAssertionKey()]),
  }
}
