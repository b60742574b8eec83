import type { Config } from './types'
import { problemList, type Checked, type Settings } from './settings'

/**
 * The tokens machine callers present: ADMIN_TOKEN (operators, the admin API) and
 * FORWARD_AUTH_TOKEN (a forward-auth proxy that wants the assertion). Unset, each is off.
 */
export function checkCallerTokens(
  e: Settings,
): Checked<Pick<Config, 'adminToken' | 'forwardAuthToken'>> {
  const { problems, fail } = problemList()
  if (e.ADMIN_TOKEN !== undefined && e.ADMIN_TOKEN.length < 32)
    fail('ADMIN_TOKEN', 'must be at least 32 characters')
  if (e.FORWARD_AUTH_TOKEN !== undefined && e.FORWARD_AUTH_TOKEN.length < 32)
    fail('FORWARD_AUTH_TOKEN', 'must be at least 32 characters')
  return { value: { adminToken: e.ADMIN_TOKEN, forwardAuthToken: e.FORWARD_AUTH_TOKEN }, problems }
}
