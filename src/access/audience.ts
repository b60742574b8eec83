// The audience (`aud`) of the X-Auth-Assertion each route's origin receives. Every route has its
// own, as Cloudflare Access gives each application its own AUD tag: an origin behind the gateway
// (a third-party status page, a compromised low-value app) must not be able to replay the
// assertion it was sent to another origin and skip that route's rules.
import { hostMatches, normaliseHost, parseHostPattern, type HostPattern } from './paths.ts'
import type { CompiledRoute, Target } from './types.ts'

const MAX_AUDIENCE_LENGTH = 256
// Printable, and no spaces at either end: an origin compares the claim byte for byte.
const AUDIENCE = /^[^\x00-\x20\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f])?$/
// What a request's host may be for a derived audience: a DNS name, an IPv4 address or a bracketed
// IPv6 one. Forward-auth takes the host from a header; anything else (`a.example/x`) could spell
// another route's audience, so it gets no assertion.
const AUDIENCE_HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/

type Fail = (at: string, problem: string) => void

/** What a route says about its assertion (see CompiledRoute). */
export type RouteAssertion = Pick<CompiledRoute, 'assertion' | 'audience' | 'audiencePath'>

/**
 * Checks `audience` and `assertion`. A route that is not public always carries the assertion; a
 * public one only with `"assertion": true` (its origin is open to anyone, often someone else's
 * page). The default audience is `https://` + the route's host + its path's base, fixed here for
 * an exact host and taken from the request's host otherwise (routeAudience).
 */
export function routeAssertion(
  fields: { readonly audience?: unknown; readonly assertion?: unknown },
  isPublic: boolean,
  host: HostPattern,
  pathText: unknown,
  at: (field: string) => string,
  fail: Fail,
): RouteAssertion {
  let asked = false
  if (fields.assertion !== undefined) {
    if (typeof fields.assertion !== 'boolean') fail(at('assertion'), 'must be true or false')
    else if (!isPublic)
      fail(
        at('assertion'),
        'has no effect on a route that is not public (every request it allows carries the assertion)',
      )
    else asked = fields.assertion
  }
  const assertion = !isPublic || asked

  let chosen: string | undefined
  if (fields.audience !== undefined) {
    const value = fields.audience
    if (typeof value !== 'string' || value.length > MAX_AUDIENCE_LENGTH || !AUDIENCE.test(value))
      fail(
        at('audience'),
        `must be 1 to ${MAX_AUDIENCE_LENGTH} printable characters, no spaces at either end, ` +
          'e.g. "https://admin.example.com" or "urn:example:admin"',
      )
    else if (!assertion)
      fail(at('audience'), 'has no effect on a public route without "assertion": true')
    else chosen = value
  }

  const audiencePath = pathBase(typeof pathText === 'string' ? pathText : '/*')
  const audience =
    chosen ?? (host.kind === 'exact' ? `https://${host.host}${audiencePath}` : undefined)
  return { assertion, audience, audiencePath }
}

/** `/*` → '', `/x/*` → `/x`, `/x` → `/x`: the path as written, so matching rules never change it. */
function pathBase(pathText: string): string {
  if (pathText === '/*') return ''
  return pathText.endsWith('/*') ? pathText.slice(0, -2) : pathText
}

/**
 * The `aud` of the assertion for a request this route allowed, or undefined when it carries none:
 * a public route that did not ask for one, or a host-derived audience for a host that is not a
 * plain host name. Per request only the host-derived case builds a string.
 */
export function routeAudience(route: RouteAssertion, requestHost: string): string | undefined {
  if (!route.assertion) return undefined
  if (route.audience !== undefined) return route.audience
  const host = normaliseHost(requestHost)
  return AUDIENCE_HOST.test(host) ? `https://${host}${route.audiencePath}` : undefined
}

/**
 * Lint: two routes that can give the same audience but send requests to different destinations,
 * so either origin could replay the other's assertion. Sharing an audience is fine for one
 * destination (a GET-only public route and the rest of the same app).
 */
export function sharedAudienceWarnings(
  routes: readonly CompiledRoute[],
  shadows: (first: CompiledRoute, later: CompiledRoute) => boolean,
): string[] {
  const warnings: string[] = []
  const asserting = routes.filter(
    (route, i) => route.assertion && !routes.slice(0, i).some((before) => shadows(before, route)),
  )
  asserting.forEach((first, i) => {
    for (const second of asserting.slice(i + 1)) {
      if (sameTarget(first.target, second.target)) continue
      if (!canShareAudience(first, second, routes, shadows)) continue
      warnings.push(
        `${first.label} and ${second.label} can give the same assertion audience but go to ` +
          'different destinations: either origin could replay the other’s assertion (give one ' +
          'an "audience" of its own)',
      )
    }
  })
  return warnings
}

function canShareAudience(
  a: CompiledRoute,
  b: CompiledRoute,
  routes: readonly CompiledRoute[],
  shadows: (first: CompiledRoute, later: CompiledRoute) => boolean,
): boolean {
  if (a.audience !== undefined && b.audience !== undefined) return a.audience === b.audience
  if (a.audience === undefined && b.audience === undefined)
    return a.audiencePath === b.audiencePath && hostsOverlap(a.host, b.host)
  const [fixed, derived] = a.audience !== undefined ? [a, b] : [b, a]
  // `https://h` + derived's path base, for a host h that reaches the derived route.
  const prefix = 'https://'
  const text = fixed.audience!
  if (!text.startsWith(prefix) || !text.endsWith(derived.audiencePath)) return false
  const host = text.slice(prefix.length, text.length - derived.audiencePath.length)
  const check = parseHostPattern(host)
  if (!check.ok || check.pattern.kind !== 'exact' || check.pattern.host !== host) return false
  if (!hostMatches(derived.host, host)) return false
  // Routes before the derived one that take every request it would see for that host leave it
  // none: `admin.example.com` first, then a catch-all.
  const onThatHost: CompiledRoute = { ...derived, host: check.pattern }
  return !routes.slice(0, derived.index).some((before) => shadows(before, onThatHost))
}

function hostsOverlap(a: HostPattern, b: HostPattern): boolean {
  if (a.kind === 'any' || b.kind === 'any') return true
  if (a.kind === 'exact') return hostMatches(b, a.host)
  if (b.kind === 'exact') return hostMatches(a, b.host)
  return a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix)
}

function sameTarget(a: Target, b: Target): boolean {
  if (a.kind === 'default' || b.kind === 'default') return a.kind === b.kind
  if (a.kind === 'service' || b.kind === 'service')
    return a.kind === 'service' && b.kind === 'service' && a.binding === b.binding
  return a.origin === b.origin && a.pathPrefix === b.pathPrefix
}
