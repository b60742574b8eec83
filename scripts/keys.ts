// `npm run keys`: a new ES256 key pair for the X-Auth-Assertion JWT, printed as the value of
// ASSERTION_KEYS (a JSON array of private JWKs; the first signs, all are published in the JWKS).
import { randomBytes, webcrypto } from 'node:crypto'

const pair = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
  'sign',
  'verify',
])) as webcrypto.CryptoKeyPair
const jwk = await webcrypto.subtle.exportKey('jwk', pair.privateKey)
const kid = `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`
const value = JSON.stringify([{ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d, kid }])

console.log(`# A new assertion signing key (kid ${kid}). Keep it secret.
#
# Local development: add this line to .dev.vars
ASSERTION_KEYS='${value}'
#
# Production:
#   echo '${value}' | npx wrangler secret put ASSERTION_KEYS
#
# Rotation: publish the new key before it signs. Set ASSERTION_KEYS to [old, new] (only the
# first signs; both are in /.well-known/jwks.json), wait longer than your origins cache the JWKS
# (the gateway says max-age=300), then set [new, old]; after a minute more, [new].`)
