// ACCESS → CompiledAccess, once per isolate. Every problem is gathered (each naming the route and
// the field, never a value: a pasted secret must not reach a log), unknown fields are problems
// (a typo such as `alow` must not silently leave a route open), and what compiles is plain data
// that a request is matched against without building a regex or much else.
import * as z from 'zod/mini'
import { routeAssertion } from './audience.ts'
import { parseIpRange, type IpRange } from './ip.ts'
import {
  checkPath,
  hostMatches,
  isGatewayPath,
  isInsideGatewayPaths,
  parseHostPattern,
  parsePathPattern,
  pathMatches,
  RequestPath,
  type HostPattern,
  type PathPattern,
} from './paths.ts'
import {
  CONDITION_KEYS,
  type AuthMethod,
  type CompileResult,
  type CompiledRoute,
  type ConditionKey,
  type ConditionSet,
  type CorsPolicy,
  type LauncherEntry,
  type Target,
} from './types.ts'

const ROUTE_FIELDS = [
  'name',
  'host',
  'path',
  'caseSensitive',
  'methods',
  'origin',
  'service',
  'public',
  'allow',
  'deny',
  'maxSignInAge',
  'cors',
  'websockets',
  'assertion',
  'audience',
  'revocation',
  'oauth',
  'launcher',
] as const

const LAUNCHER_FIELDS = ['title', 'url'] as const

const CORS_FIELDS = ['origins', 'methods', 'headers', 'credentials', 'maxAge'] as const

// Keys that describe a person: a set that also names serviceTokens could never match anyone.
const PERSON_KEYS: readonly ConditionKey[] = [
  'everyone',
  'emails',
  'domains',
  'organizations',
  'roles',
  'groups',
  'authMethods',
  'mfa',
]

const AUTH_METHODS: readonly AuthMethod[] = ['sso', 'code', 'link']

const table = z.record(z.string(), z.unknown())
const stringList = z.array(z.string())
const boolean = z.boolean()
const isTrue = z.literal(true)
const positiveInt = z.int().check(z.positive())
const maxAgeSeconds = z.int().check(z.minimum(0), z.maximum(86400))

const NAME = /^[a-z0-9-]{1,64}$/
// RFC 9110 token, written uppercase. Requests are compared uppercased: workerd passes `patch` on
// as sent, and a deny on PATCH must not be dodged by spelling it in lower case.
const METHOD = /^[A-Z0-9!#$%&'*+.^_`|~-]+$/
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/
const EMAIL = /^[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)+$/
const COUNTRY = /^([A-Z]{2}|T1)$/ // T1: Cloudflare's code for Tor
const ORGANIZATION = /^org_[A-Za-z0-9_]+$/
// A service binding is a JavaScript identifier on `env`.
const BINDING = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const PRINTABLE = /^[^\x00-\x1f\x7f]+$/
const TITLE = /^[^\x00-\x1f\x7f]{1,80}$/

type Fail = (at: string, problem: string) => void

export function compileAccess(raw: unknown): CompileResult {
  const problems: string[] = []
  const fail: Fail = (at, problem) => problems.push(at ? `${at}: ${problem}` : problem)

  let document = raw
  if (typeof raw === 'string') {
    try {
      document = JSON.parse(raw) as unknown
    } catch (error) {
      // The parser's message quotes the input; only its position is safe to repeat.
      const at = /position (\d+)/.exec(String(error))
      fail('', `must be JSON${at ? ` (syntax error at character ${at[1]})` : ''}`)
      return { ok: false, problems }
    }
  }
  const top = table.safeParse(document)
  if (!top.success || Array.isArray(document)) {
    fail('', 'must be a JSON object: {"routes": [ … ]}')
    return { ok: false, problems }
  }
  unknownFields(top.data, ['routes'], '', fail)
  const list = z.array(z.unknown()).safeParse(top.data.routes)
  if (!list.success || list.data.length === 0) {
    fail('routes', 'must be a non-empty list of routes')
    return { ok: false, problems }
  }

  const routes: CompiledRoute[] = []
  const names = new Map<string, number>()
  list.data.forEach((entry, index) => {
    const route = compileRoute(entry, index, names, fail)
    if (route) routes.push(route)
  })
  if (problems.length > 0) return { ok: false, problems }

  const hosts = new Set<string>()
  const services = new Set<string>()
  for (const route of routes) {
    if (route.host.kind === 'exact') hosts.add(route.host.host)
    if (route.target.kind === 'service') services.add(route.target.binding)
  }
  return {
    ok: true,
    access: Object.freeze({
      routes: Object.freeze(routes),
      hosts: Object.freeze([...hosts]),
      services: Object.freeze([...services]),
      source: 'ACCESS',
    }),
  }
}

function compileRoute(
  entry: unknown,
  index: number,
  names: Map<string, number>,
  fail: Fail,
): CompiledRoute | undefined {
  const parsed = table.safeParse(entry)
  if (!parsed.success || Array.isArray(entry)) {
    fail(`routes[${index}]`, 'must be an object with at least a "name"')
    return undefined
  }
  const r = parsed.data
  const rawName = r.name
  const label =
    typeof rawName === 'string' && NAME.test(rawName)
      ? `routes[${index}] (${rawName})`
      : `routes[${index}]`
  const at = (field: string) => `${label}.${field}`
  let broken = false
  const problem: Fail = (where, text) => {
    broken = true
    fail(where, text)
  }

  unknownFields(r, ROUTE_FIELDS, label, problem)

  let name = ''
  if (typeof rawName !== 'string' || !NAME.test(rawName)) {
    problem(at('name'), 'is required: 1 to 64 of a-z, 0-9 and "-"')
  } else if (names.has(rawName)) {
    problem(at('name'), `must be unique (routes[${names.get(rawName)}] has the same name)`)
  } else {
    names.set(rawName, index)
    name = rawName
  }

  let host: HostPattern = { kind: 'any' }
  if (r.host !== undefined) {
    const check = typeof r.host === 'string' ? parseHostPattern(r.host) : undefined
    if (!check?.ok)
      problem(at('host'), 'must be an exact host or *.example.com (no scheme, port or path)')
    else host = check.pattern
  }

  // Paths fold case by default, as Akamai and most CDNs match them: Express, ASP.NET and IIS
  // serve /ADMIN/panel as /admin/panel. `caseSensitive: true` is for an origin that does not.
  let caseSensitive = false
  if (r.caseSensitive !== undefined) {
    if (!boolean.safeParse(r.caseSensitive).success)
      problem(at('caseSensitive'), 'must be true or false')
    else caseSensitive = r.caseSensitive === true
  }
  let path: PathPattern = { kind: 'all' }
  const pathText = r.path === undefined ? '/*' : r.path
  if (typeof pathText !== 'string') problem(at('path'), 'must be a path such as /api/*')
  else {
    const check = parsePathPattern(pathText, caseSensitive)
    if (!check.ok) problem(at('path'), check.problem)
    else if (isInsideGatewayPaths(check.pattern))
      problem(
        at('path'),
        'is a gateway path (/auth/*, /.well-known/*, /healthz, /__dev/*), answered before routing',
      )
    else path = check.pattern
  }

  const listed = r.methods === undefined ? undefined : methodList(r.methods, at('methods'), problem)
  // A HEAD is a GET without the body, and most servers answer it with the GET handler: a route
  // that takes GET takes HEAD too, or a HEAD would fall through to a later, weaker route.
  const methods = listed?.has('GET') && !listed.has('HEAD') ? new Set([...listed, 'HEAD']) : listed

  // Both are checked even when both are set, so one run reports every problem.
  let target: Target = { kind: 'default' }
  if (r.origin !== undefined) target = originTarget(r.origin, at('origin'), problem)
  if (r.service !== undefined) {
    if (typeof r.service !== 'string' || !BINDING.test(r.service))
      problem(at('service'), 'must be the name of a service binding, e.g. API_WORKER')
    else target = { kind: 'service', binding: r.service }
    if (r.origin !== undefined)
      problem(at('service'), 'cannot be set together with origin (one destination per route)')
  }

  let isPublic = false
  if (r.public !== undefined) {
    if (!boolean.safeParse(r.public).success) problem(at('public'), 'must be true or false')
    else isPublic = r.public === true
  }
  if (isPublic) {
    // A public route admits nobody-in-particular: a rule on it would read as enforced but isn't.
    for (const field of ['allow', 'deny', 'maxSignInAge'] as const)
      if (r[field] !== undefined)
        problem(at(field), 'has no effect on a public route (remove it, or remove "public")')
  }
  const assertion = routeAssertion(r, isPublic, host, pathText, at, problem)

  let allow: ConditionSet[] | undefined
  if (r.allow !== undefined) {
    allow = conditionSets(r.allow, 'allow', label, problem)
    if (Array.isArray(r.allow) && r.allow.length === 0)
      problem(
        at('allow'),
        'must list at least one condition set (leave it out for any signed-in person; ' +
          'to refuse everyone use deny: [{"everyone": true}])',
      )
  }
  const deny = r.deny === undefined ? [] : conditionSets(r.deny, 'deny', label, problem)

  let maxSignInAge: number | undefined
  if (r.maxSignInAge !== undefined) {
    if (!positiveInt.safeParse(r.maxSignInAge).success)
      problem(at('maxSignInAge'), 'must be a positive whole number of seconds')
    else maxSignInAge = r.maxSignInAge as number
  }

  const cors = r.cors === undefined ? undefined : corsPolicy(r.cors, at('cors'), problem)

  let websockets = true
  if (r.websockets !== undefined) {
    if (!boolean.safeParse(r.websockets).success) problem(at('websockets'), 'must be true or false')
    else websockets = r.websockets === true
  }

  // "strict": the revocation authority is asked on every request (README "Revocation").
  let strictRevocation = false
  if (r.revocation !== undefined) {
    if (r.revocation !== 'strict' && r.revocation !== 'bounded')
      problem(at('revocation'), 'must be "strict" or "bounded"')
    else if (isPublic && r.revocation === 'strict')
      problem(at('revocation'), 'a public route has no session to check: leave it out')
    else strictRevocation = r.revocation === 'strict'
  }

  // false: the gateway's bearer tokens (OAuth, README "Command lines and AI agents") are refused.
  let oauth = !isPublic
  if (r.oauth !== undefined) {
    if (!boolean.safeParse(r.oauth).success) problem(at('oauth'), 'must be true or false')
    else if (isPublic && r.oauth === true)
      problem(at('oauth'), 'a public route needs no token: leave it out')
    else oauth = r.oauth === true
  }

  const launcher = launcherEntry(
    r.launcher,
    { name, public: isPublic, host, path, methods, hostText: String(r.host ?? '*').toLowerCase() },
    at('launcher'),
    problem,
  )

  if (broken) return undefined
  return Object.freeze({
    index,
    name,
    label,
    host,
    path,
    hostText: host.kind === 'any' ? '*' : (r.host as string).toLowerCase(),
    pathText: pathText as string,
    methods,
    target: Object.freeze(target),
    public: isPublic,
    ...assertion,
    allow: allow && Object.freeze(allow),
    deny: Object.freeze(deny ?? []),
    maxSignInAge,
    cors,
    websockets,
    strictRevocation,
    oauth,
    ...(launcher && { launcher: Object.freeze(launcher) }),
  })
}

/**
 * `launcher`: left out, a route is offered by the app launcher unless it is public (or could never
 * be opened from it); `false` never, `true` always (public too), `{"title", "url"}` with its own
 * name and entry URL. Whether a person sees it is decided per request (src/launcher/); here, only
 * what the route alone tells, and a route that asks to be listed but never could be is refused.
 */
function launcherEntry(
  value: unknown,
  route: {
    name: string
    public: boolean
    host: HostPattern
    path: PathPattern
    methods: ReadonlySet<string> | undefined
    hostText: string
  },
  at: string,
  fail: Fail,
): LauncherEntry | undefined {
  const noGet = route.methods !== undefined && !route.methods.has('GET')
  const noHost = route.host.kind === 'subdomains'
  if (value === undefined)
    return route.public || noGet || noHost ? undefined : { title: route.name, url: undefined }
  if (value === false) return undefined
  if (noGet)
    return void fail(at, 'the route does not take GET, so the launcher could never open it')
  const fields =
    value === true
      ? {}
      : openTable(value, LAUNCHER_FIELDS, at, fail, 'must be true, false or {"title", "url"}')
          ?.fields
  if (!fields) return undefined
  let bad = false
  const problem: Fail = (where, text) => {
    bad = true
    fail(where, text)
  }
  const title =
    fields.title === undefined
      ? route.name
      : typeof fields.title === 'string'
        ? fields.title.trim()
        : ''
  if (!TITLE.test(title))
    problem(`${at}.title`, 'must be 1 to 80 characters, no control characters')
  if (fields.url === undefined && noHost)
    problem(at, `a route on ${route.hostText} needs "url": an absolute URL on one host`)
  const url = fields.url === undefined ? undefined : launcherUrl(fields.url, route, noHost)
  if (typeof url === 'string') problem(`${at}.url`, url)
  return bad ? undefined : { title, url: (url as { href: string })?.href }
}

/**
 * A `launcher.url`: a path the route takes, or an absolute URL on a host and path it takes; else
 * what is wrong with it.
 */
function launcherUrl(
  value: unknown,
  route: { host: HostPattern; path: PathPattern; hostText: string },
  noHost: boolean,
): { href: string } | string {
  const shape = 'must be a path such as /grafana/ or an http(s) URL, without a query or fragment'
  if (typeof value !== 'string' || /[?#]/.test(value)) return shape
  let path = value
  let href = value
  if (!value.startsWith('/') || value.startsWith('//')) {
    const url = URL.parse(value)
    if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password) return shape
    if (!hostMatches(route.host, url.hostname))
      return `must be on a host the route takes (${route.hostText})`
    path = url.pathname
    href = url.href
  } else if (noHost) return `must be an absolute URL on one host of ${route.hostText}`
  if (!checkPath(path).ok || isGatewayPath(path))
    return 'must have a plain path (no dot segments, "//", ";" or odd escapes) outside /auth/'
  return pathMatches(route.path, new RequestPath(path))
    ? { href }
    : 'must be a path the route takes'
}

function originTarget(value: unknown, at: string, fail: Fail): Target {
  const bad = (problem: string): Target => {
    fail(at, problem)
    return { kind: 'default' }
  }
  if (typeof value !== 'string') return bad('must be an http(s) URL')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return bad('must be an http(s) URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return bad('must be an http(s) URL')
  if (url.username || url.password)
    return bad('must not carry credentials (use a service binding or the assertion)')
  if (url.search || url.hash || value.includes('?') || value.includes('#'))
    return bad('must not have a query or fragment')
  const pathPrefix = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  if (pathPrefix && !checkPath(pathPrefix).ok)
    return bad('must have a plain path prefix (no dot segments, "//", ";" or odd escapes)')
  return { kind: 'origin', origin: url.origin, pathPrefix }
}

function corsPolicy(value: unknown, at: string, fail: Fail): CorsPolicy | undefined {
  const opened = openTable(value, CORS_FIELDS, at, fail, 'must be an object with "origins"')
  if (!opened) return undefined
  const { fields: c, problem, hasProblems } = opened

  const origins = new Set<string>()
  const list = stringList.safeParse(c.origins)
  if (!list.success || list.data.length === 0)
    problem(`${at}.origins`, 'must list at least one origin, e.g. ["https://app.example.com"]')
  else
    list.data.forEach((text, i) => {
      const origin = exactOrigin(text)
      if (text === '*' || text === 'null')
        problem(`${at}.origins[${i}]`, 'must be an exact origin ("*" and "null" are never allowed)')
      else if (!origin)
        problem(`${at}.origins[${i}]`, 'must be an origin: scheme, host and port, no path')
      else origins.add(origin)
    })

  const methods =
    c.methods === undefined
      ? ['GET', 'HEAD', 'POST']
      : methodList(c.methods, `${at}.methods`, problem)

  let headers: string[] = []
  if (c.headers !== undefined) {
    const names = stringList.safeParse(c.headers)
    if (!names.success) problem(`${at}.headers`, 'must be a list of header names')
    else
      names.data.forEach((header, i) => {
        const lower = header.toLowerCase()
        if (!HEADER_NAME.test(lower)) problem(`${at}.headers[${i}]`, 'must be a header name')
        else if (!headers.includes(lower)) headers.push(lower)
      })
  }

  let credentials = false
  if (c.credentials !== undefined) {
    if (!boolean.safeParse(c.credentials).success)
      problem(`${at}.credentials`, 'must be true or false')
    else credentials = c.credentials === true
  }

  let maxAge = 600
  if (c.maxAge !== undefined) {
    if (!maxAgeSeconds.safeParse(c.maxAge).success)
      problem(`${at}.maxAge`, 'must be a whole number of seconds from 0 to 86400')
    else maxAge = c.maxAge as number
  }

  if (hasProblems() || !methods) return undefined
  const methodNames = [...methods]
  headers = Object.freeze(headers) as string[]
  return Object.freeze({
    origins,
    methods: Object.freeze(methodNames),
    headers,
    credentials,
    maxAge,
    allowMethods: methodNames.join(', '),
    allowHeaders: headers.join(', '),
  })
}

/** `https://App.example.com:443` → `https://app.example.com`; anything with a path or more → undefined. */
function exactOrigin(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  // The URL parser accepts `*` in a host; no browser sends one.
  if (url.hostname.includes('*')) return undefined
  const bare = text.endsWith('/') ? text.slice(0, -1) : text
  if (
    bare.toLowerCase() !== url.origin.toLowerCase() &&
    bare.toLowerCase() !== `${url.origin}:${defaultPort(url)}`
  )
    return undefined
  return url.origin
}

const defaultPort = (url: URL) => (url.protocol === 'https:' ? '443' : '80')

function methodList(value: unknown, at: string, fail: Fail): ReadonlySet<string> | undefined {
  const list = stringList.safeParse(value)
  if (!list.success || list.data.length === 0) {
    fail(at, 'must be a non-empty list of methods, e.g. ["GET", "POST"]')
    return undefined
  }
  let ok = true
  list.data.forEach((method, i) => {
    if (!METHOD.test(method)) {
      ok = false
      fail(`${at}[${i}]`, 'must be an uppercase HTTP method such as GET')
    }
  })
  return ok ? new Set(list.data) : undefined
}

function conditionSets(
  value: unknown,
  kind: 'allow' | 'deny',
  route: string,
  fail: Fail,
): ConditionSet[] | undefined {
  const list = z.array(z.unknown()).safeParse(value)
  if (!list.success) {
    fail(
      `${route}.${kind}`,
      'must be a list of condition sets, e.g. [{"emails": ["a@example.com"]}]',
    )
    return undefined
  }
  const sets: ConditionSet[] = []
  list.data.forEach((entry, i) => {
    const set = conditionSet(entry, `${kind}[${i}]`, `${route}.${kind}[${i}]`, fail)
    if (set) sets.push(set)
  })
  return sets.length === list.data.length ? sets : undefined
}

function conditionSet(
  value: unknown,
  label: string,
  at: string,
  fail: Fail,
): ConditionSet | undefined {
  const opened = openTable(
    value,
    CONDITION_KEYS,
    at,
    fail,
    'must be an object of conditions, e.g. {"emails": ["a@example.com"]}',
  )
  if (!opened) return undefined
  const { fields: c, problem, hasProblems } = opened
  const keys = CONDITION_KEYS.filter((key) => c[key] !== undefined)
  if (keys.length === 0 && Object.keys(c).length === 0)
    problem(at, 'must have at least one condition (for any signed-in person: {"everyone": true})')
  if (keys.includes('serviceTokens')) {
    const personal = keys.filter((key) => PERSON_KEYS.includes(key))
    if (personal.length > 0)
      problem(
        at,
        `cannot combine serviceTokens with ${personal.join(', ')}: a token is not a person, ` +
          'so the set would match nobody (use two sets)',
      )
  }

  const flag = (key: 'everyone' | 'mfa') => {
    if (c[key] === undefined) return false
    if (!isTrue.safeParse(c[key]).success) problem(`${at}.${key}`, 'must be true (or left out)')
    return true
  }

  // Each entry is checked and normalised; the index, never the value, names a bad one.
  const entries = (
    key: ConditionKey,
    entry: string,
    normalise: (text: string) => string | undefined,
  ): string[] | undefined => {
    if (c[key] === undefined) return undefined
    const list = stringList.safeParse(c[key])
    if (!list.success || list.data.length === 0) {
      problem(`${at}.${key}`, `must be a non-empty list, each ${entry}`)
      return []
    }
    const out: string[] = []
    list.data.forEach((text, i) => {
      const normalised = normalise(text.trim())
      if (normalised === undefined) problem(`${at}.${key}[${i}]`, `must be ${entry}`)
      else out.push(normalised)
    })
    return out
  }

  const everyone = flag('everyone')
  const mfa = flag('mfa')
  const emails = entries('emails', 'an email address', (e) =>
    EMAIL.test(e.toLowerCase()) ? e.toLowerCase() : undefined,
  )
  const domainList = entries('domains', 'a domain: example.com or *.example.com', (d) => {
    const check = parseHostPattern(d)
    if (!check.ok) return undefined
    const name = check.pattern.kind === 'exact' ? check.pattern.host : d.toLowerCase()
    return name.includes('.') ? name : undefined
  })
  let ips: IpRange[] | undefined
  if (c.ips !== undefined) {
    ips = []
    const list = stringList.safeParse(c.ips)
    if (!list.success || list.data.length === 0)
      problem(`${at}.ips`, 'must be a non-empty list of IP addresses or CIDR ranges')
    else
      list.data.forEach((text, i) => {
        const range = parseIpRange(text.trim())
        if (!range.ok) problem(`${at}.ips[${i}]`, range.problem)
        else ips!.push(range.range)
      })
  }
  const countries = entries('countries', 'a two-letter country code such as DE', (e) =>
    COUNTRY.test(e.toUpperCase()) ? e.toUpperCase() : undefined,
  )
  const listedMethods = entries('methods', 'an uppercase HTTP method such as GET', (m) =>
    METHOD.test(m) ? m : undefined,
  )
  // As for a route's methods: an origin answers HEAD with its GET handler, so a rule about GET
  // (a deny above all) must not be dodged with HEAD.
  const methods =
    listedMethods?.includes('GET') && !listedMethods.includes('HEAD')
      ? [...listedMethods, 'HEAD']
      : listedMethods
  const tokens = entries('serviceTokens', 'a service token name, or "*" for any', (t) =>
    PRINTABLE.test(t) && t.length <= 100 ? t : undefined,
  )
  const organizations = entries('organizations', 'a WorkOS organization id (org_…)', (o) =>
    ORGANIZATION.test(o) ? o : undefined,
  )
  const roles = entries('roles', 'a role slug', (r) => (PRINTABLE.test(r) ? r : undefined))
  const groups = entries('groups', 'a group name', (g) => (PRINTABLE.test(g) ? g : undefined))
  const authMethods = entries('authMethods', '"sso", "code" or "link"', (m) =>
    (AUTH_METHODS as readonly string[]).includes(m) ? m : undefined,
  )

  if (hasProblems()) return undefined
  const set = (list: string[] | undefined) => (list === undefined ? undefined : new Set(list))
  return Object.freeze({
    label,
    keys: Object.freeze(keys),
    everyone,
    emails: set(emails),
    domains: domainList && {
      exact: new Set(domainList.map((d) => (d.startsWith('*.') ? d.slice(2) : d))),
      suffixes: Object.freeze(domainList.filter((d) => d.startsWith('*.')).map((d) => d.slice(1))),
    },
    ips: ips && Object.freeze(ips),
    countries: set(countries),
    methods: set(methods),
    serviceTokens: tokens && {
      any: tokens.includes('*'),
      names: new Set(tokens.filter((t) => t !== '*')),
    },
    organizations: set(organizations),
    roles: set(roles),
    groups: set(groups),
    authMethods: set(authMethods) as ReadonlySet<AuthMethod> | undefined,
    mfa,
  })
}

/** Reports each key outside `known`, suggesting the nearest known one for a likely typo. */
/**
 * A table checked field by field: `problem` reports like `fail` and remembers that it did, so the
 * caller can check every field (naming each problem) before refusing the table once.
 */
function openTable(
  value: unknown,
  known: readonly string[],
  at: string,
  fail: Fail,
  shape: string,
): { fields: Record<string, unknown>; problem: Fail; hasProblems: () => boolean } | undefined {
  const parsed = table.safeParse(value)
  if (!parsed.success || Array.isArray(value)) {
    fail(at, shape)
    return undefined
  }
  let found = false
  const problem: Fail = (where, text) => {
    found = true
    fail(where, text)
  }
  unknownFields(parsed.data, known, at, problem)
  return { fields: parsed.data, problem, hasProblems: () => found }
}

function unknownFields(
  object: Record<string, unknown>,
  known: readonly string[],
  at: string,
  fail: Fail,
) {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue
    // A key is echoed only when it looks like a field name, not like a pasted value.
    const shown = /^[A-Za-z_$][A-Za-z0-9_$-]{0,39}$/.test(key) ? key : undefined
    const near = shown && known.find((candidate) => nearMiss(key.toLowerCase(), candidate))
    const where = shown ? (at ? `${at}.${shown}` : shown) : at
    fail(
      where,
      `unknown field${shown ? '' : ' (name not shown)'}` +
        (near ? ` (did you mean "${near}"?)` : `; expected one of ${known.join(', ')}`),
    )
  }
}

// Two edits (`alow`, `websocket`), or a stem of the field (`country`, `email`, `credential`).
function nearMiss(key: string, field: string): boolean {
  const lower = field.toLowerCase()
  return editDistance(key, lower) <= 2 || (key.length >= 4 && lower.startsWith(key.slice(0, -1)))
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++)
      current.push(
        Math.min(
          previous[j]! + 1,
          current[j - 1]! + 1,
          previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
        ),
      )
    previous = current
  }
  return previous[b.length]!
}
