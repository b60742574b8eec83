import type { AppContext } from '../app-env'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { BoundedMap } from '../bounded-cache'
import { hmacSign, hmacVerify, seal, unseal } from '../crypto'
import type { GatewayCookie, SealedCookie, SignedCookie } from './declarations'

// Sets, reads and clears the cookies declared in ./declarations.ts: the sign or seal step on the
// way out, the verify or unseal step on the way in. Signing and sealing use the first
// SESSION_SECRET; every secret is tried on the way in (rotation).

export type SignedRead<Part extends string> =
  | { readonly state: 'absent' }
  | { readonly state: 'invalid' }
  | ({ readonly state: 'valid' } & { readonly [P in Part]: string })

export type SealedRead =
  | { readonly state: 'absent' }
  | { readonly state: 'invalid' }
  | { readonly state: 'valid'; readonly plaintext: string }

const ABSENT = Object.freeze({ state: 'absent' as const })
const INVALID = Object.freeze({ state: 'invalid' as const })

// A part or a signature: 32 random bytes, a SHA-256 or an HMAC-SHA256, as base64url.
const SEGMENT = /^[A-Za-z0-9_-]{43}$/
// Longer sealed values are refused before any decryption is tried.
const MAX_SEALED_LENGTH = 2048

/** Signs the fields (or seals the plaintext), sets the cookie, and returns its value. */
export function setGatewayCookie<Part extends string>(
  c: AppContext,
  cookie: SignedCookie<Part>,
  fields: { readonly [P in Part]: string },
): Promise<string>
export function setGatewayCookie(
  c: AppContext,
  cookie: SealedCookie,
  plaintext: string,
): Promise<string>
export async function setGatewayCookie(
  c: AppContext,
  cookie: GatewayCookie,
  content: string | Record<string, string>,
): Promise<string> {
  const config = c.get('config')
  const secret = config.sessionSecrets[0]!
  let value: string
  if (cookie.protection === 'sealed') {
    value = await seal(secret, cookie.label, content as string)
  } else {
    const fields = content as Record<string, string>
    const message = cookie.parts.map((part) => fields[part]).join('.')
    value = `${message}.${await hmacSign(secret, cookie.label, message)}`
  }
  const maxAge =
    typeof cookie.maxAgeSeconds === 'number' ? cookie.maxAgeSeconds : cookie.maxAgeSeconds(config)
  setCookie(c, cookie.name, value, { ...attributes(cookie), maxAge })
  return value
}

/**
 * The cookie's verified fields (or unsealed plaintext). A forged, altered or malformed value is
 * `invalid`, never an error. A sealed cookie's value presented another way (a JSON client's
 * token) is read instead of the cookie when given.
 */
export function readGatewayCookie<Part extends string>(
  c: AppContext,
  cookie: SignedCookie<Part>,
): Promise<SignedRead<Part>>
export function readGatewayCookie(
  c: AppContext,
  cookie: SealedCookie,
  presented?: string,
): Promise<SealedRead>
// Not async itself: the signed cookie's cached path resolves with one promise, as before.
export function readGatewayCookie(
  c: AppContext,
  cookie: GatewayCookie,
  presented?: string,
): Promise<SignedRead<string> | SealedRead> {
  const secrets = c.get('config').sessionSecrets
  return cookie.protection === 'signed'
    ? readSigned(cookie, secrets, cookieValue(c, cookie))
    : readSealed(cookie, secrets, presented ?? cookieValue(c, cookie))
}

/** Tells the browser to drop the cookie (the same attributes it was set with, Max-Age=0). */
export function clearGatewayCookie(c: AppContext, cookie: GatewayCookie): void {
  deleteCookie(c, cookie.name, attributes(cookie))
}

// __Host- requires Path=/, Secure and no Domain; HttpOnly keeps page scripts (the origin's
// included) from reading any of them.
const attributes = (cookie: GatewayCookie) =>
  ({ path: '/', secure: true, httpOnly: true, sameSite: cookie.sameSite }) as const

/** The raw value; a malformed percent-escape in the Cookie header counts as a value that fails. */
function cookieValue(c: AppContext, cookie: GatewayCookie): string | undefined {
  try {
    return getCookie(c, cookie.name)
  } catch {
    return '!'
  }
}

type ValidSigned = SignedRead<string> & { state: 'valid' }

// Values this isolate has already verified, per set of secrets, for the cookies whose
// declaration asks for it. Only genuine values are kept, and a changed SESSION_SECRET (a new
// config, a new secrets array) starts afresh. Each entry names the cookie it was verified for,
// so a value signed for one cookie is never taken from here for another.
const verified = new WeakMap<
  readonly string[],
  BoundedMap<string, { cookie: SignedCookie; read: ValidSigned }>
>()

/** Signature check only, no I/O: a forged or damaged cookie never costs a KV read. */
async function readSigned(
  cookie: SignedCookie,
  secrets: readonly string[],
  value: string | undefined,
): Promise<SignedRead<string>> {
  if (value === undefined) return ABSENT
  let known = cookie.rememberVerified ? verified.get(secrets) : undefined
  const remembered = known?.get(value)
  if (remembered?.cookie === cookie) return remembered.read
  const segments = value.split('.')
  if (segments.length !== cookie.parts.length + 1) return INVALID
  if (!segments.every((segment) => SEGMENT.test(segment))) return INVALID
  const signature = segments.pop()!
  const valid = await hmacVerify(secrets, cookie.label, segments.join('.'), signature)
  if (!valid) return INVALID
  const fields: Record<string, string> = { state: 'valid' }
  cookie.parts.forEach((part, index) => (fields[part] = segments[index]!))
  const read = fields as unknown as ValidSigned
  if (cookie.rememberVerified) {
    if (!known) verified.set(secrets, (known = new BoundedMap(10_000)))
    known.set(value, { cookie, read })
  }
  return read
}

async function readSealed(
  cookie: SealedCookie,
  secrets: readonly string[],
  value: string | undefined,
): Promise<SealedRead> {
  if (value === undefined) return ABSENT
  if (!value || value.length > MAX_SEALED_LENGTH) return INVALID
  const plaintext = await unseal(secrets, cookie.label, value)
  return plaintext === null ? INVALID : { state: 'valid', plaintext }
}
