// Warnings about a policy that compiles but probably does not say what its author meant. The
// Worker does not need these; `npm run access -- lint` prints them.
import { sharedAudienceWarnings } from './audience.ts'
import { matchRoute } from './decide.ts'
import { entryPathOf, foldCase, type HostPattern, type PathPattern } from './paths.ts'
import type { CompiledAccess, CompiledRoute, ConditionSet } from './types.ts'

export function lintAccess(access: CompiledAccess): string[] {
  const warnings: string[] = []
  access.routes.forEach((route, i) => {
    const earlier = access.routes.slice(0, i).find((before) => shadows(before, route))
    if (earlier)
      warnings.push(
        `${route.label} is never reached: ${earlier.label} comes first and matches every ` +
          'request it would (first match wins; move the narrower route up)',
      )
    else {
      const entry = launcherEntryDecider(access, route)
      if (entry)
        warnings.push(
          `${route.label} is not in the app launcher: a GET of its entry URL (${entry.path}) ` +
            `is decided by ${entry.decider.label} (move it up, or give it "launcher": {"url": …})`,
        )
    }
    for (const set of route.allow ?? []) {
      const warning = tenantDecides(set)
      if (warning) warnings.push(`${route.label}.${set.label} ${warning}`)
    }
    const admitsTokens = route.allow?.some((set) => set.serviceTokens !== undefined) ?? false
    if (admitsTokens)
      for (const set of route.deny)
        if (set.serviceTokens === undefined)
          warnings.push(
            `${route.label}.${set.label} does not apply to service tokens, which this route ` +
              'admits (a token only meets sets naming serviceTokens; add a set that names them)',
          )
  })
  warnings.push(...sharedAudienceWarnings(access.routes, shadows))
  return warnings
}

/** True when `first` matches every request `later` matches, so `later` never decides. */
export function shadows(first: CompiledRoute, later: CompiledRoute): boolean {
  return (
    hostCovers(first.host, later.host) &&
    pathCovers(first.path, later.path) &&
    (first.methods === undefined ||
      (later.methods !== undefined && [...later.methods].every((m) => first.methods!.has(m))))
  )
}

// A host no route names (`*.invalid` is not a valid route host): where a route on any host is
// opened, as far as the other routes can tell.
const SOME_HOST = 'launcher.invalid'

/** The earlier route that decides a GET of `route`'s launcher entry URL, if any. */
function launcherEntryDecider(access: CompiledAccess, route: CompiledRoute) {
  if (!route.launcher) return undefined
  const url = route.launcher.url
  const absolute = url !== undefined && !url.startsWith('/') ? new URL(url) : undefined
  // Compiled, a route on `*.example.com` in the launcher has an absolute URL.
  if (!absolute && route.host.kind === 'subdomains') return undefined
  const host = absolute?.host ?? (route.host.kind === 'exact' ? route.host.host : SOME_HOST)
  const path = absolute?.pathname ?? url ?? entryPathOf(route.pathText)
  const decider = matchRoute(access, { host, path, method: 'GET' })
  return decider && decider !== route ? { path, decider } : undefined
}

function hostCovers(a: HostPattern, b: HostPattern): boolean {
  switch (a.kind) {
    case 'any':
      return true
    case 'exact':
      return b.kind === 'exact' && b.host === a.host
    case 'subdomains':
      // `*.example.com` covers `x.example.com` and `*.x.example.com`, but not `*.example.com`'s apex.
      if (b.kind === 'exact') return b.host.length > a.suffix.length && b.host.endsWith(a.suffix)
      return b.kind === 'subdomains' && b.suffix.endsWith(a.suffix)
  }
}

/**
 * Each organization's identity provider decides its own roles and groups: an `admins` group is
 * whoever any customer's IdP says it is. An allow set naming them without `organizations` admits
 * that name from every organization. (A deny set that does so refuses more, which opens nothing.)
 */
function tenantDecides(set: ConditionSet): string | undefined {
  if (set.organizations !== undefined) return undefined
  const named = (['roles', 'groups'] as const).filter((key) => set[key] !== undefined)
  if (named.length === 0) return undefined
  const what = named.join(' and ')
  const one = named.map((key) => key.slice(0, -1)).join(' or ')
  return (
    `names ${what} without organizations: every organization’s identity provider decides its ` +
    `own ${what}, so the set admits a ${one} of that name from any organization (add ` +
    '"organizations": ["org_…"] to the set)'
  )
}

function pathCovers(a: PathPattern, b: PathPattern): boolean {
  if (a.kind === 'all') return true
  if (b.kind === 'all') return false
  // PUBLIC_PATHS entries are never in an ACCESS policy, the only one linted.
  if (a.kind === 'public-path' || b.kind === 'public-path') return false
  // A route that folds case takes every spelling of the other's paths; a case-sensitive one takes
  // only its own spelling, so it never covers one that folds case (short of `/*`, above).
  if (a.caseSensitive && !b.caseSensitive) return false
  const fold = !a.caseSensitive && b.caseSensitive
  const path = b.kind === 'exact' ? b.path : b.base
  const other = fold ? foldCase(path) : path
  if (a.kind === 'exact') return b.kind === 'exact' && (other === a.path || other === a.slashed)
  // Beneath a prefix, a path's trailing-slash spelling is beneath it too.
  return other === a.base || other.startsWith(a.baseSlash)
}
