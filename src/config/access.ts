import { compileAccess, parsePublicPaths, type CompiledAccess } from '../access/index.ts'
import type { Config } from './types'
import { httpUrl, list, problemList, type Checked, type RawEnv, type Settings } from './settings'

/**
 * What the gateway protects and for whom: ORIGIN_URL, and either PUBLIC_PATHS (its entries, as
 * compilePublicPaths takes them) or the ACCESS policy (never both). `env` is read for the service
 * bindings ACCESS routes name.
 */
export function checkAccess(
  e: Settings,
  env: RawEnv,
): Checked<Pick<Config, 'originUrl' | 'access'> & { publicPaths: readonly string[] }> {
  const { problems, fail } = problemList()

  let originUrl = new URL('http://invalid.invalid')
  if (e.ORIGIN_URL === undefined || !httpUrl.safeParse(e.ORIGIN_URL).success)
    fail('ORIGIN_URL', 'must be set to the http(s) URL of the origin to protect')
  else originUrl = new URL(e.ORIGIN_URL)

  const publicPaths = parsePublicPaths(e.PUBLIC_PATHS)
  for (const problem of publicPaths.problems) fail('PUBLIC_PATHS', problem)

  let access: CompiledAccess | undefined
  if (e.ACCESS !== undefined) {
    const compiled = compileAccess(e.ACCESS)
    if (!compiled.ok) for (const problem of compiled.problems) fail('ACCESS', problem)
    else {
      access = compiled.access
      // A service binding is an object with fetch(); a name the routes use must be bound.
      for (const binding of access.services) {
        const bound = env[binding] as { fetch?: unknown } | undefined
        if (typeof bound?.fetch !== 'function')
          fail('ACCESS', `service "${binding}" is not a service binding of this Worker`)
      }
    }
    if (e.PUBLIC_PATHS !== undefined) {
      fail('ACCESS', 'is set together with PUBLIC_PATHS: use "public": true routes instead')
      fail('PUBLIC_PATHS', 'must not be set together with ACCESS (use "public": true routes)')
    }
  }

  return { value: { originUrl, publicPaths: publicPaths.entries, access }, problems }
}
