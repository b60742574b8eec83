// Web Crypto helpers shared by the cookie, the WorkOS `state` and the session store.
// Everything here is pure and synchronous in spirit; no I/O beyond crypto.subtle.

const encoder = new TextEncoder()

export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)
  let binary = ''
  for (const byte of view) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

/** Decodes base64url; `null` for anything that is not strictly (canonically) base64url. */
export function fromBase64url(text: string): Uint8Array | null {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return null
  const padded =
    text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4)
  const binary = atob(padded)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  // Refuse non-canonical encodings (unused low bits set in the last character), so each value
  // has exactly one accepted spelling.
  return base64url(bytes) === text ? bytes : null
}

export function randomToken(byteLength = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(byteLength)))
}

export async function sha256(text: string): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}

// Importing a key costs more than using it; secrets are fixed per isolate, so keep the keys.
const hmacKeys = new Map<string, Promise<CryptoKey>>()

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret)
  if (!key) {
    key = crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    )
    hmacKeys.set(secret, key)
  }
  return key
}

/**
 * HMAC-SHA256 of `purpose` + message, base64url. The purpose prefix keeps a signature made for
 * one use (a cookie) from being valid for another (a `state`) under the same secret.
 */
export async function hmacSign(secret: string, purpose: string, message: string): Promise<string> {
  const signature = await crypto.subtle.sign(
    'HMAC',
    await hmacKey(secret),
    encoder.encode(`${purpose}\n${message}`),
  )
  return base64url(signature)
}

/**
 * True when `signature` was made by any of `secrets` (rotation: the first signs, all verify).
 * `crypto.subtle.verify` compares in constant time.
 */
export async function hmacVerify(
  secrets: readonly string[],
  purpose: string,
  message: string,
  signature: string,
): Promise<boolean> {
  const bytes = fromBase64url(signature)
  if (!bytes || bytes.length !== 32) return false
  const data = encoder.encode(`${purpose}\n${message}`)
  for (const secret of secrets) {
    if (await crypto.subtle.verify('HMAC', await hmacKey(secret), bytes, data)) return true
  }
  return false
}

// AES-256-GCM for values that travel through the browser and must be neither read nor altered
// (the WorkOS state, the Magic Auth pending cookie). The key is SHA-256(purpose + secret), so each
// purpose has its own key; every secret is tried on open, so rotation works as for the cookie.
const aesKeys = new Map<string, Promise<CryptoKey>>()

function aesKey(secret: string, purpose: string): Promise<CryptoKey> {
  const cacheKey = `${purpose}\n${secret}`
  let key = aesKeys.get(cacheKey)
  if (!key) {
    key = crypto.subtle
      .digest('SHA-256', encoder.encode(cacheKey))
      .then((raw) => crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']))
    aesKeys.set(cacheKey, key)
  }
  return key
}

export async function seal(secret: string, purpose: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv },
    await aesKey(secret, purpose),
    encoder.encode(plaintext),
  )
  const sealed = new Uint8Array(iv.length + ciphertext.byteLength)
  sealed.set(iv)
  sealed.set(new Uint8Array(ciphertext), iv.length)
  return base64url(sealed)
}

/** The plaintext, or null when no secret opens it (forged, altered, or from a retired secret). */
export async function unseal(
  secrets: readonly string[],
  purpose: string,
  sealed: string,
): Promise<string | null> {
  const bytes = fromBase64url(sealed)
  if (!bytes || bytes.length < 12 + 16) return null
  for (const secret of secrets) {
    try {
      const plaintext = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: bytes.subarray(0, 12) },
        await aesKey(secret, purpose),
        bytes.subarray(12),
      )
      return new TextDecoder().decode(plaintext)
    } catch {
      // Not this secret; try the next.
    }
  }
  return null
}
