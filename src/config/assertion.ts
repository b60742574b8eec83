import type { Config } from './types'
import { problemList, type Checked, type Settings } from './settings'

/**
 * ASSERTION_KEYS and ASSERTION_AUDIENCE: the keys that sign X-Auth-Assertion, and its `aud`
 * without ACCESS (ORIGIN_URL's origin unless set).
 */
export function checkAssertion(
  e: Settings,
  devMode: boolean,
  originUrl: URL,
): Checked<Pick<Config, 'assertionKeys' | 'assertionAudience'>> {
  const { problems, fail } = problemList()

  let assertionKeys: JsonWebKey[] = []
  if (e.ASSERTION_KEYS !== undefined) {
    try {
      const parsed = JSON.parse(e.ASSERTION_KEYS) as unknown
      const keys = Array.isArray(parsed) ? parsed : [parsed]
      if (keys.length === 0 || !keys.every(isEs256PrivateJwk)) throw new Error('shape')
      assertionKeys = keys as JsonWebKey[]
    } catch {
      fail(
        'ASSERTION_KEYS',
        'must be a JSON array of EC P-256 private JWKs, each with a "kid" (npm run keys)',
      )
    }
  } else if (!devMode) {
    fail(
      'ASSERTION_KEYS',
      'must be set: every proxied request carries a signed assertion (npm run keys)',
    )
  }

  let assertionAudience = originUrl.origin
  if (e.ASSERTION_AUDIENCE !== undefined) {
    if (e.ASSERTION_AUDIENCE.trim() === '') fail('ASSERTION_AUDIENCE', 'must not be empty')
    // One audience for every route would let any route's origin replay its assertion to another.
    else if (e.ACCESS !== undefined)
      fail(
        'ASSERTION_AUDIENCE',
        "must not be set together with ACCESS: each route's assertion carries its own audience " +
          '(the route\'s "audience", default its URL)',
      )
    else assertionAudience = e.ASSERTION_AUDIENCE.trim()
  }

  return {
    value: { assertionKeys: Object.freeze(assertionKeys), assertionAudience },
    problems,
  }
}

function isEs256PrivateJwk(key: unknown): boolean {
  const jwk = key as Record<string, unknown> | null
  return (
    typeof jwk === 'object' &&
    jwk !== null &&
    jwk.kty === 'EC' &&
    jwk.crv === 'P-256' &&
    typeof jwk.d === 'string' &&
    typeof jwk.x === 'string' &&
    typeof jwk.y === 'string' &&
    typeof jwk.kid === 'string' &&
    jwk.kid.length > 0
  )
}
