import type { Config } from './types'
import { problemList, type Checked, type Settings } from './settings'

/** LOG_REQUESTS: which requests get a log line (Config.logRequests). */
export function checkLogs(e: Settings): Checked<Pick<Config, 'logRequests'>> {
  const { problems, fail } = problemList()
  const logRequests = e.LOG_REQUESTS ?? 'auth'
  if (logRequests !== 'all' && logRequests !== 'auth' && logRequests !== 'errors')
    fail('LOG_REQUESTS', 'must be "all", "auth" or "errors"')
  return { value: { logRequests: logRequests as Config['logRequests'] }, problems }
}
