import type { AppContext } from '../app-env'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { randomToken, sha256 } from '../crypto'
import { GatewayError } from '../errors'
import { kvOrFailClosed } from '../kv/fail-closed'
import { oauthDeviceKey, oauthDevicePollKey, oauthUserCodeKey } from '../kv/keys'
import { parseStored } from '../kv/stored-json'
import { keptUntil } from '../kv/ttl'

// Device authorization requests (RFC 8628): what a command line asked for, waiting for a person
// to type its user code on the verification page and answer. The device code is the device's
// secret: KV keeps the request under its SHA-256 (the request's handle), and the user code only
// as a SHA-256 pointing at that handle, so a KV dump gives neither a code to poll with nor one to
// type. Both live ten minutes.

/** How long a device request can be answered and polled (RFC 8628 §3.2 `expires_in`). */
export const DEVICE_REQUEST_SECONDS = 600
/** The polling interval a device starts with (RFC 8628 §3.2 `interval`). */
export const POLL_INTERVAL_SECONDS = 5
/** RFC 8628 §3.5: each `slow_down` makes the interval 5 seconds longer. */
const SLOW_DOWN_STEP_SECONDS = 5
// A poll that left on time can arrive a little early (the previous one waited longer in the
// network): not a reason to slow the client down.
const POLL_EARLY_TOLERANCE_MS = 1000

// RFC 8628 §6.1: twenty consonants, so a code reads the same in any font, spells no word, and is
// typed without a shift key (the page takes lower case too). 8 of them: 20^8 ≈ 2.6 × 10^10.
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
const USER_CODE_LENGTH = 8
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/
// 32 random bytes, base64url: what a device code is. Anything else is not looked up.
const DEVICE_CODE = /^[A-Za-z0-9_-]{43}$/

const deviceRequestSchema = z.object({
  v: z.literal(1),
  clientId: z.string(),
  resource: z.string(),
  scope: z.optional(z.string()),
  /** Epoch ms. */
  expiresAt: z.number(),
  /** Seconds between polls, as the device was told. */
  interval: z.number(),
  state: z.enum(['pending', 'approved', 'denied']),
  /** Approved: the handle of the browser session that approved, and its person. */
  sessionHandle: z.optional(z.string()),
  personKey: z.optional(z.string()),
  /** Once the device has its tokens: the grant they belong to (the device code is spent). */
  usedBy: z.optional(z.string()),
})
export type DeviceRequest = z.infer<typeof deviceRequestSchema>

const pollSchema = z.object({ lastPolledAt: z.number(), interval: z.number() })

/** A new user code: 8 characters of the alphabet, each drawn without bias. */
function newUserCode(): string {
  let code = ''
  while (code.length < USER_CODE_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(16))) {
      // 240 = 12 × 20: bytes above it would favour the first letters.
      if (byte < 240 && code.length < USER_CODE_LENGTH) code += USER_CODE_ALPHABET[byte % 20]
    }
  }
  return code
}

/** A typed user code as stored: upper case, without dashes or spaces; undefined if it is none. */
export function normaliseUserCode(typed: unknown): string | undefined {
  if (typeof typed !== 'string' || typed.length > 32) return undefined
  const code = typed.replace(/[\s-]/g, '').toUpperCase()
  return USER_CODE.test(code) ? code : undefined
}

/** How a user code is shown: `BCDF-GHJK`. */
export const showUserCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`

/** A device code's handle (the key its request is stored under), or undefined for a malformed one. */
export const deviceHandleOf = (deviceCode: string) =>
  DEVICE_CODE.test(deviceCode) ? sha256(deviceCode) : undefined

/**
 * A new request, pending for DEVICE_REQUEST_SECONDS: its device code (for the device only) and
 * its user code (for the person), stored. A user code already pointing at a live request is
 * drawn again: two requests never share one.
 */
export async function createDeviceRequest(
  c: AppContext,
  asked: { clientId: string; resource: string; scope?: string },
): Promise<{ deviceCode: string; userCode: string; request: DeviceRequest }> {
  const kv = c.env.SESSIONS
  const deviceCode = randomToken(32)
  const handle = await sha256(deviceCode)
  const request: DeviceRequest = {
    v: 1,
    clientId: asked.clientId,
    resource: asked.resource,
    ...(asked.scope !== undefined && { scope: asked.scope }),
    expiresAt: Date.now() + DEVICE_REQUEST_SECONDS * 1000,
    interval: POLL_INTERVAL_SECONDS,
    state: 'pending',
  }
  const userCode = await freeUserCode(kv)
  await kvOrFailClosed(async () => {
    // The request first: a user code never points at nothing.
    await kv.put(oauthDeviceKey(handle), JSON.stringify(request), keptUntil(request.expiresAt))
    await kv.put(await oauthUserCodeKey(userCode), handle, keptUntil(request.expiresAt))
  })
  return { deviceCode, userCode, request }
}

async function freeUserCode(kv: KVNamespace): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const code = newUserCode()
    const taken = await kvOrFailClosed(async () => kv.get(await oauthUserCodeKey(code), 'text'))
    if (taken === null) return code
  }
  // Three live codes drawn in a row: the code space is not what it should be. Refuse.
  throw new GatewayError(503, 'busy', 'Please try again in a moment.', { 'Retry-After': '5' })
}

/** The request a device code's handle names, or null: unknown, forgotten or unreadable. */
export async function readDeviceRequest(
  c: AppContext,
  handle: string,
): Promise<DeviceRequest | null> {
  const raw = await kvOrFailClosed(() => c.env.SESSIONS.get(oauthDeviceKey(handle), 'text'))
  return parseStored(deviceRequestSchema, raw)
}

/** The handle of the request a (normalised) user code belongs to, or null. */
export async function handleOfUserCode(c: AppContext, userCode: string): Promise<string | null> {
  const key = await oauthUserCodeKey(userCode)
  return kvOrFailClosed(() => c.env.SESSIONS.get(key, 'text'))
}

/** Rewrites a request (the person's answer, or its tokens issued), until it expires. */
export async function rewriteDeviceRequest(
  c: AppContext,
  handle: string,
  request: DeviceRequest,
): Promise<void> {
  await kvOrFailClosed(() =>
    c.env.SESSIONS.put(
      oauthDeviceKey(handle),
      JSON.stringify(request),
      keptUntil(request.expiresAt),
    ),
  )
}

/**
 * A poll of a pending request, remembered: `slow_down` when it came sooner than the interval
 * after the last one, and the interval grows by 5 seconds (RFC 8628 §3.5). Kept apart from the
 * request itself: a poll that read the request just before the person answered must not write
 * the old state back over the answer.
 */
export async function notePoll(
  c: AppContext,
  handle: string,
  request: DeviceRequest,
): Promise<'pending' | 'slow_down'> {
  const kv = c.env.SESSIONS
  const key = oauthDevicePollKey(handle)
  const now = Date.now()
  const last = parseStored(pollSchema, await kvOrFailClosed(() => kv.get(key, 'text')))
  let interval = last?.interval ?? request.interval
  const tooSoon =
    last !== null && now - last.lastPolledAt < interval * 1000 - POLL_EARLY_TOLERANCE_MS
  if (tooSoon) interval += SLOW_DOWN_STEP_SECONDS
  await kvOrFailClosed(() =>
    kv.put(key, JSON.stringify({ lastPolledAt: now, interval }), keptUntil(request.expiresAt)),
  )
  return tooSoon ? 'slow_down' : 'pending'
}
