import { compilePublicPaths } from '../access/index.ts'
import type { Config } from './types'
import { checkAccess } from './access'
import { checkAssertion } from './assertion'
import { checkAudit } from './audit'
import { checkCallerTokens } from './caller-tokens'
import { checkDevMode, isDevMode } from './dev-mode'
import { checkEmail } from './email'
import { checkHosts } from './hosts'
import { checkLogs } from './logs'
import { checkPages } from './pages'
import { checkRateLimits } from './rate-limits'
import { checkOauth } from './oauth'
import { checkRevocation } from './revocation'
import { checkSessions } from './sessions'
import { rawSettings, type Problem, type RawEnv } from './settings'
import { checkSignIn } from './sign-in'
import { checkWorkos } from './workos'

export type { Config } from './types'
export { DEV_CREDENTIALS } from './dev-mode'
export { workosOrigin } from './workos'

export class ConfigError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(`invalid configuration: ${problems.map((p) => p.variable).join(', ')}`)
    this.name = 'ConfigError'
  }
}

/**
 * The Config for a Worker's `env`, or a ConfigError naming every problem at once. Each area's
 * validator (one file each in this folder) checks its own variables and returns its part of the
 * Config with its problems; none has side effects.
 */
export function parseConfig(env: RawEnv): Config {
  const raw = rawSettings.safeParse(env)
  if (!raw.success)
    throw new ConfigError(
      raw.error.issues.map((issue) => ({
        variable: String(issue.path[0]),
        problem: 'must be a string',
      })),
    )
  const e = raw.data
  const devMode = isDevMode(e)

  const workos = checkWorkos(e, devMode)
  const dev = checkDevMode(e, workos.value)
  const sessions = checkSessions(e)
  const email = checkEmail(e, devMode)
  const access = checkAccess(e, env)
  const hosts = checkHosts(e, devMode, access.value.access)
  const assertion = checkAssertion(e, devMode, access.value.originUrl)
  const signIn = checkSignIn(e)
  const pages = checkPages(e)
  const logs = checkLogs(e)
  const callerTokens = checkCallerTokens(e)
  const revocation = checkRevocation(e, env)
  const oauth = checkOauth(e)
  const audit = checkAudit(e)
  const areas = [
    workos,
    dev,
    sessions,
    email,
    access,
    hosts,
    assertion,
    signIn,
    pages,
    logs,
    callerTokens,
    revocation,
    oauth,
    audit,
    checkRateLimits(env),
  ]
  const problems = areas.flatMap((area) => area.problems)
  if (problems.length > 0) throw new ConfigError(problems)

  const { publicPaths, ...accessSettings } = access.value
  const config: Config = {
    ...workos.value,
    ...dev.value,
    ...sessions.value,
    ...email.value,
    ...accessSettings,
    policy:
      accessSettings.access ?? compilePublicPaths(publicPaths, assertion.value.assertionAudience),
    ...hosts.value,
    ...assertion.value,
    ...signIn.value,
    ...pages.value,
    ...logs.value,
    ...callerTokens.value,
    ...revocation.value,
    ...oauth.value,
    ...audit.value,
  }
  return Object.freeze(config)
}

// One parse per env object: workerd hands the same `env` to every request of an isolate.
const parsed = new WeakMap<object, Config | ConfigError>()

export function configFor(env: object): Config {
  let result = parsed.get(env)
  if (!result) {
    try {
      result = parseConfig(env as Record<string, unknown>)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      result = error
    }
    parsed.set(env, result)
  }
  if (result instanceof ConfigError) throw result
  return result
}
