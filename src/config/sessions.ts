import type { Config } from './types'
import { list, problemList, wholeNumberFrom, type Checked, type Settings } from './settings'

type SessionConfig = Pick<
  Config,
  | 'sessionSecrets'
  | 'sessionTtlSeconds'
  | 'sessionIdleSeconds'
  | 'sessionCacheSeconds'
  | 'websocketRecheckSeconds'
>

/**
 * SESSION_SECRET, SESSION_TTL_SECONDS, SESSION_IDLE_TIMEOUT_SECONDS, SESSION_CACHE_SECONDS and
 * WEBSOCKET_RECHECK_SECONDS (how often an open WebSocket's session is read again).
 */
export function checkSessions(e: Settings): Checked<SessionConfig> {
  const { problems, fail } = problemList()

  const sessionSecrets = list(e.SESSION_SECRET)
  if (sessionSecrets.length === 0) fail('SESSION_SECRET', 'must be set')
  else if (sessionSecrets.some((secret) => secret.length < 32))
    fail('SESSION_SECRET', 'each comma-separated secret must be at least 32 characters')

  const sessionTtlSeconds = Number(e.SESSION_TTL_SECONDS ?? 604800)
  // KV refuses an expirationTtl under 60 s, and a session beyond a year is not a session.
  if (!wholeNumberFrom(sessionTtlSeconds, 60, 31536000))
    fail('SESSION_TTL_SECONDS', 'must be a whole number of seconds between 60 and 31536000')

  const sessionIdleSeconds = Number(
    e.SESSION_IDLE_TIMEOUT_SECONDS ?? Math.min(86400, sessionTtlSeconds),
  )
  if (!wholeNumberFrom(sessionIdleSeconds, 60, sessionTtlSeconds))
    fail(
      'SESSION_IDLE_TIMEOUT_SECONDS',
      'must be a whole number of seconds from 60 up to SESSION_TTL_SECONDS',
    )

  const sessionCacheSeconds = Number(e.SESSION_CACHE_SECONDS ?? 10)
  if (!wholeNumberFrom(sessionCacheSeconds, 0, 60))
    fail('SESSION_CACHE_SECONDS', 'must be a whole number of seconds from 0 to 60')

  const websocketRecheckSeconds = Number(e.WEBSOCKET_RECHECK_SECONDS ?? 30)
  if (!wholeNumberFrom(websocketRecheckSeconds, 1, 60))
    fail('WEBSOCKET_RECHECK_SECONDS', 'must be a whole number of seconds from 1 to 60')

  return {
    value: {
      sessionSecrets: Object.freeze(sessionSecrets),
      sessionTtlSeconds,
      sessionIdleSeconds,
      sessionCacheSeconds,
      websocketRecheckSeconds,
    },
    problems,
  }
}
