import { randomBytes } from 'node:crypto'

// WorkOS ids are a prefix and a ULID: 26 Crockford base32 characters.
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

export function workosId(prefix: string): string {
  const bytes = randomBytes(26)
  let id = ''
  for (const byte of bytes) id += CROCKFORD[byte % 32]
  return `${prefix}_${id}`
}

export function opaqueToken(byteLength = 24): string {
  return randomBytes(byteLength).toString('base64url')
}
