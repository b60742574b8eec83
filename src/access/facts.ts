// The facts a request is decided on, made one way by the gateway (for the request itself, or the
// one a forward-auth proxy names) and by the check tool (for the one it is told about).
import type { RequestFacts } from './types.ts'

/**
 * `ip` is '' when unknown (then no `ips` entry matches), `country` undefined when unknown (then no
 * `countries` entry matches).
 */
export function requestFacts(
  request: { readonly host: string; readonly path: string; readonly method: string },
  ip: string,
  country: string | undefined,
  now: number = Date.now(),
): RequestFacts {
  return { host: request.host, path: request.path, method: request.method, ip, country, now }
}
