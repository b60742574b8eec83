import { problemList, type Problem, type RawEnv } from './settings'

const RATE_LIMIT_BINDINGS = [
  'SEND_LIMIT_EMAIL',
  'SEND_LIMIT_IP',
  'VERIFY_LIMIT_IP',
  'REGISTER_LIMIT_IP',
] as const

/**
 * The limiters are bindings, not strings: without them sending (or registering OAuth clients)
 * would be unlimited, so refuse.
 * They are used from `env` directly; this only checks that each is bound.
 */
export function checkRateLimits(env: RawEnv): { problems: Problem[] } {
  const { problems, fail } = problemList()
  for (const binding of RATE_LIMIT_BINDINGS) {
    const limiter = env[binding] as { limit?: unknown } | undefined
    if (typeof limiter?.limit !== 'function')
      fail(binding, 'must be a Rate Limiting binding (see [[ratelimits]] in wrangler.toml)')
  }
  return { problems }
}
