import { GatewayError } from './errors'
import { log } from './log'

// An origin's pages share the browser origin with the gateway's own (/auth/…). A service worker an
// origin registers sees every navigation in its scope: over /auth/, it would read the sign-in code
// on /auth/callback?code=… or the token on /auth/magic/<token> and could sign its author in as the
// person. So no origin's service worker may have a scope that reaches the gateway's paths.
//
// The browser fetches a service worker script with `Service-Worker: script`; the scope asked for
// must lie within the maximum scope: the script's folder, or what the answer's
// Service-Worker-Allowed says (resolved against the script's URL). A script whose maximum scope
// overlaps the gateway's paths is refused, so the browser never registers it.

/** The gateway's own paths on every host it serves (the routes in index.ts). */
const GATEWAY_PATHS = ['/auth/', '/.well-known/', '/__dev/']

const SERVICE_WORKER_ALLOWED = 'service-worker-allowed'

/** True for the browser's fetch of a service worker script (any value: fail closed). */
const isServiceWorkerScript = (request: Request) => request.headers.has('service-worker')

/** Percent-decoded, as the gateway's router reads a path; undecodable stays as it is. */
function decoded(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

/**
 * True when a scope of `scopePath` (a parsed URL's path) could be registered over one of the
 * gateway's paths: it is a prefix of one (it covers it), or lies within one. Compared as given and
 * percent-decoded (/%61uth/ routes to /auth/).
 */
function reachesGatewayPaths(scopePath: string): boolean {
  return [scopePath, decoded(scopePath)].some((scope) =>
    GATEWAY_PATHS.some((path) => path.startsWith(scope) || scope.startsWith(path)),
  )
}

/**
 * The maximum scope's path a Service-Worker-Allowed value gives the script at `scriptUrl`, as the
 * browser resolves it (relative references, dot segments, "\", encoded dots); null when it is
 * not a URL at all. Several lines (or a list) are each resolved: whichever the browser takes.
 */
function allowedScopePaths(value: string, scriptUrl: URL): (string | null)[] {
  const candidates = [value, ...value.split(',')].map((part) => part.trim())
  return candidates.map((candidate) => {
    try {
      return new URL(candidate, scriptUrl).pathname
    } catch {
      return null
    }
  })
}

function refusal(reason: string): GatewayError {
  log({ event: 'service_worker_refused', outcome: reason })
  const error = new GatewayError(
    403,
    'service_worker_refused',
    'This service worker’s scope would reach the gateway’s own pages (/auth/, /.well-known/, ' +
      '/__dev/), where it could read sign-in codes, so it is not served. Serve the script from a ' +
      'folder of its own (such as /static/sw.js), without a Service-Worker-Allowed header that ' +
      'widens its scope to those paths.',
  )
  error.jsonOnly = true
  return error
}

/**
 * Before the origin is asked: refuses a service worker script whose own folder already reaches the
 * gateway's paths (a script at /sw.js may take the scope "/").
 */
export function refuseServiceWorkerFolder(request: Request, scriptUrl: URL): void {
  if (!isServiceWorkerScript(request)) return
  if (reachesGatewayPaths(new URL('./', scriptUrl).pathname)) throw refusal('script_folder')
}

/**
 * The origin's answer (a copy whose headers can change), before the client gets it. A service
 * worker script whose Service-Worker-Allowed widens its scope to the gateway's paths is refused.
 * On any other answer that header means nothing, and is dropped; and a script varies on
 * Service-Worker. The spec lets a registration with updateViaCache: "all" take the script from
 * the HTTP cache (Chromium fetches it anew regardless): a copy a page fetched itself would then be
 * registered without the gateway seeing the worker's fetch.
 */
export function guardServiceWorkerAnswer(request: Request, scriptUrl: URL, answer: Response) {
  const headers = answer.headers
  if (isServiceWorkerScript(request)) {
    const allowed = headers.get(SERVICE_WORKER_ALLOWED)
    const paths = allowed === null ? [] : allowedScopePaths(allowed, scriptUrl)
    if (paths.some((path) => path === null || reachesGatewayPaths(path))) {
      void answer.body?.cancel()
      throw refusal('service_worker_allowed')
    }
  } else {
    headers.delete(SERVICE_WORKER_ALLOWED)
  }
  if (/script/i.test(headers.get('content-type') ?? '')) headers.append('vary', 'Service-Worker')
}
