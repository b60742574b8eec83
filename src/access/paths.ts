// Hosts and paths as routes see them. A route is matched on the exact pathname the origin will
// receive, so anything an origin might read differently from us (an encoded slash or dot, a dot
// segment, a `;` parameter, a backslash) is refused before matching rather than interpreted.

/** Lowercase, without a port and without one trailing dot: `Admin.Example.com.:443` → `admin.example.com`. */
export function normaliseHost(host: string): string {
  let end = host.length
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']')
    end = close === -1 ? end : close + 1
  } else {
    const colon = host.indexOf(':')
    if (colon !== -1) end = colon
  }
  if (end > 0 && host.charCodeAt(end - 1) === 0x2e /* . */) end--
  const bare = end === host.length ? host : host.slice(0, end)
  return bare.toLowerCase()
}

export type PathCheck = { ok: true } | { ok: false }

const OK: PathCheck = Object.freeze({ ok: true })
const REFUSED: PathCheck = Object.freeze({ ok: false })

const SLASH = 0x2f
const DOT = 0x2e
const PERCENT = 0x25

/**
 * Refuses (→ 400 bad_path) a pathname that origins and proxies disagree about: percent-escapes of
 * `/`, `\`, `.` or `%` (double encoding), `%u` escapes, `;` parameters, backslashes, control
 * characters raw or escaped, `//`, dot segments, malformed escapes, escapes of unreserved
 * characters (`%61dmin` is `admin` to most origins but not to a route for `/admin/*`; RFC 3986
 * §2.3 says they should never be encoded), a segment ending in "." or an encoded space (Windows
 * drops them), `~` before a digit (an 8.3 short name: IIS serves `/ADMINI~1/` as
 * `/administration/`), `:$` (an NTFS stream) and letters full case folding makes ASCII. One pass;
 * an escape is looked at more closely only where one appears.
 */
export function checkPath(pathname: string): PathCheck {
  const length = pathname.length
  if (length === 0 || pathname.charCodeAt(0) !== SLASH) return REFUSED
  for (let i = 0; i < length; i++) {
    const c = pathname.charCodeAt(i)
    if (c < 0x20 || c === 0x7f || c === 0x5c /* \ */ || c === 0x3b /* ; */) return REFUSED
    if (c === 0x7e /* ~ */ && isDigit(pathname.charCodeAt(i + 1))) return REFUSED
    if (c === COLON && isDollarAt(pathname, i + 1)) return REFUSED
    if (c === SLASH) {
      if (i > 0 && endsLikeAnother(pathname, i)) return REFUSED
      const next = pathname.charCodeAt(i + 1) // NaN past the end
      if (next === SLASH) return REFUSED
      if (next === DOT) {
        const after = pathname.charCodeAt(i + 2)
        if (Number.isNaN(after) || after === SLASH) return REFUSED
        if (after === DOT) {
          const third = pathname.charCodeAt(i + 3)
          if (Number.isNaN(third) || third === SLASH) return REFUSED
        }
      }
    } else if (c === PERCENT) {
      const high = hexValue(pathname.charCodeAt(i + 1))
      const low = hexValue(pathname.charCodeAt(i + 2))
      if (high < 0 || low < 0) return REFUSED // also catches %u0041
      const byte = high * 16 + low
      if (byte < 0x20 || byte === 0x7f || byte === 0x25 || byte === 0x5c || isUnreserved(byte))
        return REFUSED
      if (byte === SLASH) return REFUSED
      if (byte === COLON && isDollarAt(pathname, i + 3)) return REFUSED
      if (byte >= 0xc4 && foldsToAscii(pathname, i)) return REFUSED
      i += 2
    }
  }
  return endsLikeAnother(pathname, length) ? REFUSED : OK
}

/**
 * A segment (ending before `end`) that Windows and IIS read as another: they drop a trailing "."
 * or space (`/admin./x`, `/admin%20/x` are `/admin/x` there), and older Spring trims the space.
 */
function endsLikeAnother(pathname: string, end: number): boolean {
  return pathname.charCodeAt(end - 1) === DOT || pathname.startsWith('%20', end - 3)
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39

const COLON = 0x3a
// "$" raw or escaped: after ":" it names an NTFS stream (`/admin::$INDEX_ALLOCATION/x` is
// `/admin/x` to IIS), which no other origin has a use for.
const isDollarAt = (pathname: string, at: number) =>
  pathname.charCodeAt(at) === 0x24 || pathname.slice(at, at + 3).toUpperCase() === '%24'

// Letters that full Unicode case folding turns into ASCII ones (Java's equalsIgnoreCase, Go's
// EqualFold, JavaScript's /iu): the dotless and dotted I (ı, İ → i), the long s (ſ → s) and the
// Kelvin sign (K → k). Routes fold ASCII only, so `/adm%C4%B1n` would pass a route for `/admin/*`
// while such an origin serves it as `/admin`.
const FOLDS_TO_ASCII = ['%C4%B1', '%C4%B0', '%C5%BF', '%E2%84%AA']
const foldsToAscii = (pathname: string, at: number) =>
  FOLDS_TO_ASCII.some((escape) => pathname.slice(at, at + escape.length).toUpperCase() === escape)

// ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3); "." here is the encoded dot.
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === DOT ||
    byte === 0x5f ||
    byte === 0x7e
  )
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

/** A route's `host`: absent (any), exact, or `*.example.com` (any subdomain, never the apex). */
export type HostPattern =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact'; readonly host: string }
  | { readonly kind: 'subdomains'; readonly suffix: string /* `.example.com` */ }

/**
 * A route's `path`: `/*`, `/x` (and `/x/`, which a router that is not strict serves as `/x`), or
 * `/x/*` (`/x` and everything beneath). Stored in the form requests are compared in: ASCII letters
 * lowercased, or, for a `caseSensitive` route, as written with each escape's hex digits uppercased.
 */
export type PathPattern =
  | { readonly kind: 'all' }
  | {
      readonly kind: 'exact'
      readonly path: string
      /** The same path with a trailing slash added or removed (`/` has no other spelling). */
      readonly slashed: string
      readonly caseSensitive: boolean
    }
  | {
      readonly kind: 'prefix'
      readonly base: string
      readonly baseSlash: string
      readonly caseSensitive: boolean
    }
  /**
   * A PUBLIC_PATHS entry (the gateway without ACCESS, src/access/public-paths.ts): the path as
   * sent equal to `path`, or with `prefix` (an entry ending in `*`) starting with it as plain text
   * (`/api*` takes `/api-docs`, `/assets/*` not `/assets`), in the case written. A path that
   * checkPath refuses never matches (RequestPath.ambiguous).
   */
  | { readonly kind: 'public-path'; readonly path: string; readonly prefix: boolean }

export function hostMatches(pattern: HostPattern, host: string): boolean {
  switch (pattern.kind) {
    case 'any':
      return true
    case 'exact':
      return host === pattern.host
    case 'subdomains':
      return host.length > pattern.suffix.length && host.endsWith(pattern.suffix)
  }
}

export function pathMatches(pattern: PathPattern, request: RequestPath): boolean {
  if (pattern.kind === 'all') return true
  if (pattern.kind === 'public-path') {
    if (request.ambiguous()) return false
    return pattern.prefix ? request.path.startsWith(pattern.path) : request.path === pattern.path
  }
  const path = pattern.caseSensitive ? request.asWritten() : request.folded
  if (pattern.kind === 'exact') return path === pattern.path || path === pattern.slashed
  return path === pattern.base || path.startsWith(pattern.baseSlash)
}

/**
 * A request's path in the two forms routes compare it in, each made at most once per request (and
 * usually no copy at all: a path without capitals is its own folded form). Express (by
 * default), ASP.NET, IIS and others serve `/ADMIN/panel` as `/admin/panel`, so routes fold case
 * unless they opt out; either way `%c3%a9` and `%C3%A9` are the same byte to every origin.
 */
export class RequestPath {
  readonly path: string
  /** What a route that folds case (most) compares: the path itself unless it has capitals. */
  readonly folded: string
  private written: string | undefined
  private ambiguousEncoding: boolean | undefined

  // No parameter properties: Node's type stripping (the check tool) cannot run them.
  constructor(path: string) {
    this.path = path
    this.folded = foldCase(path)
  }

  asWritten(): string {
    return (this.written ??= upperEscapes(this.path))
  }

  /**
   * Whether the origin could read the path as another: never a PUBLIC_PATHS entry, so it needs a
   * session. The paths ACCESS refuses outright (checkPath), such as `/open/..%2Fadmin`,
   * `/open/%252e%252e/admin` or `/open/..%20/admin` (Windows drops a segment's trailing space).
   */
  ambiguous(): boolean {
    return (this.ambiguousEncoding ??= !checkPath(this.path).ok)
  }
}

const UPPER = /[A-Z]/
const UPPER_ALL = /[A-Z]/g
const NOT_ASCII = /[^\x00-\x7f]/

/**
 * ASCII letters lowercased, nothing else: a router folds `A`–`Z`, while Unicode lowercasing would
 * also turn the Kelvin sign into `k`. A pathname from the URL parser is ASCII (anything else is
 * escaped), so the native lowercasing is used whenever it is safe.
 */
export function foldCase(text: string): string {
  if (!UPPER.test(text)) return text
  if (!NOT_ASCII.test(text)) return text.toLowerCase()
  return text.replace(UPPER_ALL, (letter) => String.fromCharCode(letter.charCodeAt(0) + 0x20))
}

const ESCAPE = /%[0-9a-fA-F]{2}/g

function upperEscapes(text: string): string {
  return text.includes('%') ? text.replace(ESCAPE, (escape) => escape.toUpperCase()) : text
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

export type HostPatternCheck = { ok: true; pattern: HostPattern } | { ok: false }

export function parseHostPattern(text: string): HostPatternCheck {
  const host = text.toLowerCase()
  const wildcard = host.startsWith('*.')
  const name = wildcard ? host.slice(2) : host
  const labels = name.split('.')
  // A wildcard needs a registrable-looking parent: `*.com` would cover a whole TLD.
  if (name.length > 253 || !labels.every((label) => LABEL.test(label))) return { ok: false }
  if (wildcard) {
    if (labels.length < 2) return { ok: false }
    return { ok: true, pattern: { kind: 'subdomains', suffix: `.${name}` } }
  }
  return { ok: true, pattern: { kind: 'exact', host: name } }
}

export type PathPatternCheck = { ok: true; pattern: PathPattern } | { ok: false; problem: string }

// Characters a pathname carries unescaped (RFC 3986 pchar and "/"), plus `%` for escapes.
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()+,=:@/%]*$/

export function parsePathPattern(text: string, caseSensitive = false): PathPatternCheck {
  if (!text.startsWith('/')) return { ok: false, problem: 'must start with "/"' }
  if (text === '/*') return { ok: true, pattern: { kind: 'all' } }
  const prefix = text.endsWith('/*')
  const written = prefix ? text.slice(0, -2) : text
  if (written.includes('*')) return { ok: false, problem: 'may contain "*" only as a final "/*"' }
  if (!PATH_CHARS.test(written) || !checkPath(prefix ? `${written}/` : written).ok)
    return {
      ok: false,
      problem:
        'must be a plain path as the origin receives it: no "//", dot segments, ";", "?", "#", ' +
        'encoded "/", "\\", "." or "%", or characters a URL would escape',
    }
  const base = caseSensitive ? upperEscapes(written) : foldCase(written)
  if (!prefix) return { ok: true, pattern: { kind: 'exact', ...exactPath(base), caseSensitive } }
  // `/x/` + `*`: the base is `/x`, so `/x` itself matches as the contract says.
  return { ok: true, pattern: { kind: 'prefix', base, baseSlash: `${base}/`, caseSensitive } }
}

/**
 * Where the app launcher opens a route (src/launcher/): the literal part of its path pattern as
 * written, `/x/*` → `/x/`, `/x` → `/x`, `/*` → `/`.
 */
export function entryPathOf(pattern: string): string {
  return pattern.endsWith('/*') ? pattern.slice(0, -1) : pattern
}

/** `/x` and `/x/` are one path to a router that is not strict, so an exact route takes both. */
function exactPath(path: string): { path: string; slashed: string } {
  if (path === '/') return { path, slashed: path }
  return { path, slashed: path.endsWith('/') ? path.slice(0, -1) : `${path}/` }
}

// Answered by the gateway before routing: a route inside them would never see a request.
const GATEWAY_PREFIXES = ['/auth', '/.well-known', '/__dev'] as const

export function isGatewayPath(path: string): boolean {
  if (path === '/healthz') return true
  return GATEWAY_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))
}

/** True when every path the pattern matches is a gateway path. `/*` overlaps but is fine. */
export function isInsideGatewayPaths(pattern: PathPattern): boolean {
  switch (pattern.kind) {
    case 'all':
      return false
    case 'exact':
      return isGatewayPath(pattern.path)
    case 'prefix':
      return pattern.base !== '/healthz' && isGatewayPath(pattern.base)
    case 'public-path':
      // PUBLIC_PATHS is checked when it is read (src/config/access.ts): never /auth/*.
      return false
  }
}
