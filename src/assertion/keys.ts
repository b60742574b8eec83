import { ConfigError, type Config } from '../config'
import { randomToken } from '../crypto'

// The ES256 keys behind X-Auth-Assertion. ASSERTION_KEYS holds private JWKs: the first signs,
// all are published at /.well-known/jwks.json, so a new key can be put first while the old one
// stays listed until assertions it signed (a minute at most) have expired.

export interface SigningKey {
  kid: string
  privateKey: CryptoKey
}

export interface PublicJwk {
  kty: 'EC'
  crv: 'P-256'
  x: string
  y: string
  kid: string
  alg: 'ES256'
  use: 'sig'
}

interface KeySet {
  signing: SigningKey
  published: PublicJwk[]
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const

const toPublic = (jwk: JsonWebKey & { kid?: string }): PublicJwk => ({
  kty: 'EC',
  crv: 'P-256',
  x: jwk.x!,
  y: jwk.y!,
  kid: jwk.kid!,
  alg: 'ES256',
  use: 'sig',
})

let devKey: Promise<JsonWebKey & { kid: string }> | undefined

async function generateDevKey() {
  const pair = (await crypto.subtle.generateKey(ALGORITHM, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const jwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey
  return { ...jwk, kid: `dev-${randomToken(6)}` }
}

async function loadKeySet(config: Config): Promise<KeySet> {
  let jwks = config.assertionKeys as (JsonWebKey & { kid?: string })[]
  // DEV_MODE only (config refuses this otherwise): one key for this isolate's lifetime.
  if (jwks.length === 0) jwks = [await (devKey ??= generateDevKey())]
  const first = jwks[0]!
  const {
    kid: _kid,
    alg: _alg,
    use: _use,
    key_ops: _ops,
    ...material
  } = first as JsonWebKey & {
    kid?: string
    use?: string
  }
  let privateKey: CryptoKey
  try {
    privateKey = await crypto.subtle.importKey('jwk', material, ALGORITHM, false, ['sign'])
    // The published keys must import too, or an origin could not use them.
    for (const jwk of jwks)
      await crypto.subtle.importKey('jwk', toPublic(jwk), ALGORITHM, false, ['verify'])
  } catch {
    throw new ConfigError([
      { variable: 'ASSERTION_KEYS', problem: 'a key could not be imported as an EC P-256 key' },
    ])
  }
  return { signing: { kid: first.kid!, privateKey }, published: jwks.map(toPublic) }
}

// Importing a key costs far more than using it: keep one key set per configuration.
const keySets = new WeakMap<Config, Promise<KeySet>>()

export function assertionKeys(config: Config): Promise<KeySet> {
  let keys = keySets.get(config)
  if (!keys) {
    keys = loadKeySet(config)
    keySets.set(config, keys)
  }
  return keys
}
