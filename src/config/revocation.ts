import type { Config } from './types'
import { problemList, wholeNumberFrom, type Checked, type RawEnv, type Settings } from './settings'

/**
 * REVOCATION_BOUND_SECONDS (how old an isolate's view of the revocation authority may be before
 * a request waits for a fresh one), and the REVOCATIONS binding the authority is reached through.
 */
export function checkRevocation(
  e: Settings,
  env: RawEnv,
): Checked<Pick<Config, 'revocationBoundSeconds'>> {
  const { problems, fail } = problemList()
  const revocationBoundSeconds = Number(e.REVOCATION_BOUND_SECONDS ?? 5)
  if (!wholeNumberFrom(revocationBoundSeconds, 1, 60))
    fail('REVOCATION_BOUND_SECONDS', 'must be a whole number of seconds from 1 to 60')
  const binding = env.REVOCATIONS as { idFromName?: unknown } | undefined
  if (typeof binding?.idFromName !== 'function')
    fail(
      'REVOCATIONS',
      'must be the Durable Object binding of the RevocationAuthority class (wrangler.toml)',
    )
  return { value: { revocationBoundSeconds }, problems }
}
