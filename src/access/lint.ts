// Warnings about a policy that compiles but probably does not say what its author meant. The
// Worker does not need these; `npm run access -- lint` prints them.
import type { HostPattern, PathPattern } from './paths.ts'
import type { CompiledAccess, CompiledRoute } from './types.ts'

export function lintAccess(access: CompiledAccess): string[] {
  const warnings: string[] = []
  access.routes.forEach((route, i) => {
    const earlier = access.routes.slice(0, i).find((before) => shadows(before, route))
    if (earlier)
      warnings.push(
        `${route.label} is never reached: ${earlier.label} comes first and matches every ` +
          'request it would (first match wins; move the narrower route up)',
      )
    const admitsTokens = route.allow?.some((set) => set.serviceTokens !== undefined) ?? false
    if (admitsTokens)
      for (const set of route.deny)
        if (set.serviceTokens === undefined)
          warnings.push(
            `${route.label}.${set.label} does not apply to service tokens, which this route ` +
              'admits (a token only meets sets naming serviceTokens; add a set that names them)',
          )
  })
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

function pathCovers(a: PathPattern, b: PathPattern): boolean {
  switch (a.kind) {
    case 'all':
      return true
    case 'exact':
      return b.kind === 'exact' && b.path === a.path
    case 'prefix': {
      if (b.kind === 'all') return false
      const path = b.kind === 'exact' ? b.path : b.base
      return path === a.base || path.startsWith(a.baseSlash)
    }
  }
}
