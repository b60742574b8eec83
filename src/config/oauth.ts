import type { Config } from './types'
import { problemList, wholeNumberFrom, type Checked, type Settings } from './settings'

/** OAUTH_ACCESS_TOKEN_SECONDS: how long an access token the gateway issues lives (≤ 1 hour). */
export function checkOauth(e: Settings): Checked<Pick<Config, 'oauthAccessTokenSeconds'>> {
  const { problems, fail } = problemList()
  const oauthAccessTokenSeconds = Number(e.OAUTH_ACCESS_TOKEN_SECONDS ?? 3600)
  if (!wholeNumberFrom(oauthAccessTokenSeconds, 60, 3600))
    fail('OAUTH_ACCESS_TOKEN_SECONDS', 'must be a whole number of seconds from 60 to 3600')
  return { value: { oauthAccessTokenSeconds }, problems }
}
