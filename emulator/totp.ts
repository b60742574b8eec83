// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30-second steps) over base32 secrets (RFC 4648 §6), the
// kind authenticator apps read from an otpauth:// URI. Written with Web Crypto only, so the same
// file serves the emulator (Node) and tests that run inside workerd: they compute the code a
// person would type from the secret WorkOS handed out.

export const TOTP_DIGITS = 6
export const TOTP_STEP_SECONDS = 30

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

export function base32Encode(bytes: Uint8Array): string {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

/** Decodes base32, ignoring case, spaces and padding (apps show secrets in groups of four). */
export function base32Decode(text: string): Uint8Array<ArrayBuffer> {
  const clean = text.replace(/[\s=-]/g, '').toUpperCase()
  const out = new Uint8Array(Math.floor((clean.length * 5) / 8))
  let bits = 0
  let value = 0
  let index = 0
  for (const char of clean) {
    const digit = BASE32.indexOf(char)
    if (digit < 0) throw new TypeError('The secret is not base32.')
    value = (value << 5) | digit
    bits += 5
    if (bits >= 8) {
      out[index++] = (value >>> (bits - 8)) & 255
      bits -= 8
    }
  }
  return out
}

/** A new random secret: 20 bytes (160 bits, RFC 4226's recommended length), base32. */
export function newTotpSecret(): string {
  return base32Encode(crypto.getRandomValues(new Uint8Array(20)))
}

/** The code for one time step (RFC 4226 HOTP with counter = step). */
async function hotp(key: Uint8Array<ArrayBuffer>, counter: number): Promise<string> {
  const message = new Uint8Array(8)
  const view = new DataView(message.buffer)
  view.setUint32(0, Math.floor(counter / 2 ** 32))
  view.setUint32(4, counter >>> 0)
  const hmacKey = await crypto.subtle.importKey(
    'raw',
    key,
    { name: 'HMAC', hash: 'SHA-1' },
    false,
    ['sign'],
  )
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, message))
  // Dynamic truncation (RFC 4226 §5.3).
  const offset = mac[mac.length - 1]! & 15
  const binary =
    ((mac[offset]! & 127) << 24) |
    (mac[offset + 1]! << 16) |
    (mac[offset + 2]! << 8) |
    mac[offset + 3]!
  return String(binary % 10 ** TOTP_DIGITS).padStart(TOTP_DIGITS, '0')
}

const stepAt = (atMs: number) => Math.floor(atMs / 1000 / TOTP_STEP_SECONDS)

/** The 6-digit code an authenticator app shows for `secret` (base32) at `atMs` (default now). */
export async function totpCode(secret: string, atMs: number = Date.now()): Promise<string> {
  return hotp(base32Decode(secret), stepAt(atMs))
}

/**
 * Whether `code` is right for `secret` at `atMs`, accepting `drift` steps either side (one step, 30
 * seconds, by default: RFC 6238 §5.2 recommends allowing one step of clock skew).
 */
export async function verifyTotp(
  secret: string,
  code: string,
  atMs: number = Date.now(),
  drift = 1,
): Promise<boolean> {
  if (!new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(code)) return false
  const key = base32Decode(secret)
  const step = stepAt(atMs)
  for (let delta = -drift; delta <= drift; delta++) {
    if ((await hotp(key, step + delta)) === code) return true
  }
  return false
}
