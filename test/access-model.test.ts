import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compileAccess,
  evaluate,
  matchRoute,
  shadows,
  type CompiledAccess,
  type Principal,
  type RequestFacts,
} from '../src/access/index.ts'

// Random policies and requests, decided by src/access and by the naive model below, written from
// README's access contract alone (only the input types are shared). Addresses are generated as numbers and
// printed as text, so the model never parses an address and cannot share a parser's mistake.

const NOW = Date.UTC(2026, 0, 1)

// ---- addresses: generated as numbers, printed several ways ---------------------------------

interface Address {
  v4: boolean
  value: bigint // 32 or 128 bits
  text: string
}

const v4Text = (value: bigint) =>
  [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.')

function v6Text(value: bigint, compress: boolean): string {
  const groups = Array.from({ length: 8 }, (_, i) =>
    ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
  )
  if (!compress) return groups.join(':')
  // Longest run of zero groups becomes "::".
  let best = -1
  let bestLength = 0
  for (let i = 0; i < 8; i++) {
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLength) [best, bestLength] = [i, j - i]
  }
  if (bestLength < 2) return groups.join(':')
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`
}

const v4Value = fc
  .tuple(fc.constantFrom(10, 203), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }))
  .map(([a, b, c]) => (BigInt(a) << 24n) | (BigInt(b) << 8n) | BigInt(c))

const v6Value = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffff }))
  .map(([a, b]) => (0x20010db8n << 96n) | (BigInt(a) << 64n) | BigInt(b))

const clientAddress: fc.Arbitrary<Address | undefined> = fc.oneof(
  v4Value.map((value) => ({ v4: true, value, text: v4Text(value) })),
  // What a dual-stack socket reports for an IPv4 client.
  v4Value.map((value) => ({ v4: true, value, text: `::ffff:${v4Text(value)}` })),
  fc
    .tuple(v6Value, fc.boolean())
    .map(([value, compress]) => ({ v4: false, value, text: v6Text(value, compress) })),
  fc.constant(undefined),
)

interface Range {
  v4: boolean
  network: bigint
  prefix: number
  text: string
}

const mask = (bits: number, prefix: number) =>
  ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n)

const range: fc.Arbitrary<Range> = fc.oneof(
  fc.tuple(v4Value, fc.constantFrom(0, 8, 16, 22, 24, 30, 32)).map(([value, prefix]) => {
    const network = value & mask(32, prefix)
    return { v4: true, network, prefix, text: `${v4Text(network)}/${prefix}` }
  }),
  fc.tuple(v6Value, fc.constantFrom(0, 32, 64, 100, 128)).map(([value, prefix]) => {
    const network = value & mask(128, prefix)
    return { v4: false, network, prefix, text: `${v6Text(network, true)}/${prefix}` }
  }),
)

const inRange = (address: Address, r: Range) =>
  address.v4 === r.v4 && (address.value & mask(r.v4 ? 32 : 128, r.prefix)) === r.network

// ---- policies ----------------------------------------------------------------------------------

interface ModelSet {
  everyone?: true
  emails?: string[]
  domains?: string[]
  ips?: Range[]
  countries?: string[]
  methods?: string[]
  serviceTokens?: string[]
  organizations?: string[]
  roles?: string[]
  groups?: string[]
  authMethods?: ('sso' | 'code' | 'link')[]
  mfa?: true
}

interface ModelRoute {
  name: string
  host?: string
  path?: string
  caseSensitive?: boolean
  methods?: string[]
  public?: boolean
  allow?: ModelSet[]
  deny?: ModelSet[]
  maxSignInAge?: number
}

const some = <T>(values: readonly T[]) =>
  fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 2 })
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const

const networkKeys = {
  ips: fc.uniqueArray(range, { minLength: 1, maxLength: 2, selector: (r) => r.text }),
  countries: some(['DE', 'FR', 'XX']),
  methods: some(METHODS),
}

// One to three keys per set: sets with many keys almost never match, and then most requests
// would be refused for the same dull reason.
function sparse(
  values: Record<string, fc.Arbitrary<unknown>>,
  required: string[] = [],
): fc.Arbitrary<ModelSet> {
  const keys = Object.keys(values)
  return fc
    .tuple(
      fc.record(values),
      fc.uniqueArray(fc.constantFrom(...keys), { minLength: 1, maxLength: 3 }),
    )
    .map(([all, picked]) => {
      const set: Record<string, unknown> = {}
      for (const key of new Set([...required, ...picked])) set[key] = all[key]
      return set as ModelSet
    })
}

const personKeys = sparse({
  everyone: fc.constant(true as const),
  emails: some(['ada@example.com', 'bob@eu.example.com', 'eve@evil.test']),
  domains: some(['example.com', '*.example.com', 'evil.test']),
  ...networkKeys,
  organizations: some(['org_a', 'org_b']),
  roles: some(['admin', 'viewer']),
  groups: some(['Eng', 'Ops']),
  authMethods: some(['sso', 'code', 'link'] as const),
  mfa: fc.constant(true as const),
})

// A quarter of person sets also ask for MFA, so mfa_required is not a rarity.
const personSet = fc
  .tuple(personKeys, fc.nat(3))
  .map(([set, dice]): ModelSet => (dice === 0 ? { ...set, mfa: true } : set))

const tokenSet = sparse({ serviceTokens: some(['ci-bot', 'deploy', '*']), ...networkKeys }, [
  'serviceTokens',
])

const conditionSet = fc.oneof(
  { arbitrary: personSet, weight: 3 },
  { arbitrary: tokenSet, weight: 1 },
)

// Each field absent with the given weight against 1, so most requests find a route.
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, absent: number) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: absent }, { arbitrary, weight: 1 })

const routeShape = fc.record({
  host: sometimes(fc.constantFrom('app.example.com', '*.example.com', 'other.test'), 2),
  path: sometimes(fc.constantFrom('/*', '/api/*', '/api', '/api/v1/*', '/x', '/X/', '/API/*'), 1),
  caseSensitive: sometimes(fc.boolean(), 3),
  methods: sometimes(some(METHODS), 3),
  public: sometimes(fc.constant(true), 4),
  allow: sometimes(fc.array(conditionSet, { minLength: 1, maxLength: 3 }), 1),
  deny: sometimes(fc.array(conditionSet, { minLength: 1, maxLength: 2 }), 2),
  maxSignInAge: sometimes(fc.constantFrom(60, 3600), 2),
})

const policy: fc.Arbitrary<ModelRoute[]> = fc
  .array(routeShape, { minLength: 1, maxLength: 6 })
  .map((routes) =>
    routes.map((route, i) => {
      const named: ModelRoute = { name: `route-${i}` }
      for (const [key, value] of Object.entries(route))
        if (value !== undefined) Object.assign(named, { [key]: value })
      // A public route takes no rules (a compile problem otherwise).
      if (named.public) {
        delete named.allow
        delete named.deny
        delete named.maxSignInAge
      }
      return named
    }),
  )

// As the operator writes it: ranges as text.
const toDocument = (routes: ModelRoute[]) => ({
  routes: routes.map((route) => ({
    ...route,
    ...(route.allow && { allow: route.allow.map(setDocument) }),
    ...(route.deny && { deny: route.deny.map(setDocument) }),
  })),
})

const setDocument = (set: ModelSet) => ({
  ...set,
  ...(set.ips && { ips: set.ips.map((r) => r.text) }),
})

// ---- requests and principals -----------------------------------------------------------------

interface ModelRequest {
  host: string
  path: string
  method: string
  address: Address | undefined
  country: string | undefined
}

const request: fc.Arbitrary<ModelRequest> = fc.record({
  host: fc.constantFrom(
    'app.example.com',
    'APP.Example.com.',
    'app.example.com:8443',
    'a.b.example.com',
    'example.com',
    'other.test',
  ),
  path: fc.constantFrom(
    '/',
    '/api',
    '/api/',
    '/api/v1/x',
    '/api/v1',
    '/x',
    '/apix',
    '/API/v1/X',
    '/Api/',
    '/x/',
    '/X',
  ),
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'get', 'Put', 'HEAD', 'head'),
  address: clientAddress,
  country: fc.constantFrom('DE', 'FR', 'XX', undefined),
})

const principal: fc.Arbitrary<Principal> = fc.oneof(
  fc.constant(null),
  fc.record(
    {
      kind: fc.constant('person' as const),
      email: fc.constantFrom(
        'ada@example.com',
        'ADA@Example.com',
        'bob@eu.example.com',
        'eve@evil.test',
        'carl@badexample.com',
      ),
      userId: fc.constant('user_1'),
      signedInAt: fc.constantFrom(NOW, NOW - 60_000, NOW - 60_001, NOW - 7_200_000),
      authMethod: fc.constantFrom('sso', 'code', 'link'),
      organizationId: fc.constantFrom('org_a', 'org_b'),
      roles: fc.subarray(['admin', 'viewer', 'owner']),
      groups: fc.subarray(['Eng', 'Ops', 'eng']),
      mfa: fc.boolean(),
    },
    { requiredKeys: ['kind', 'email', 'userId', 'signedInAt', 'authMethod'] },
  ),
  fc.record({
    kind: fc.constant('service' as const),
    id: fc.constant('svc_1'),
    name: fc.constantFrom('ci-bot', 'deploy', 'other'),
  }),
)

// ---- the model ---------------------------------------------------------------------------------

function modelHost(raw: string): string {
  let host = raw.toLowerCase().replace(/:\d+$/, '')
  if (host.endsWith('.')) host = host.slice(0, -1)
  return host
}

function routeMatches(route: ModelRoute, req: ModelRequest): boolean {
  const host = modelHost(req.host)
  if (route.host?.startsWith('*.')) {
    if (!host.endsWith(route.host.slice(1))) return false
  } else if (route.host !== undefined && route.host !== host) return false
  // Paths fold ASCII case unless the route says caseSensitive; `/x` and `/x/` are one path.
  const fold = (text: string) => (route.caseSensitive ? text : text.toLowerCase())
  const path = fold(route.path ?? '/*')
  const asked = fold(req.path)
  if (path !== '/*') {
    if (path.endsWith('/*')) {
      const base = path.slice(0, -2)
      if (asked !== base && !asked.startsWith(`${base}/`)) return false
    } else if (asked.replace(/(.)\/$/, '$1') !== path.replace(/(.)\/$/, '$1')) return false
  }
  return route.methods === undefined || methodListed(route.methods, req.method)
}

// A list naming GET also takes HEAD, which origins answer with the GET handler.
function methodListed(methods: readonly string[], method: string): boolean {
  const upper = method.toUpperCase()
  return methods.includes(upper) || (upper === 'HEAD' && methods.includes('GET'))
}

function setMatches(
  set: ModelSet,
  req: ModelRequest,
  who: NonNullable<Principal>,
  mfaPassed: boolean,
) {
  if (who.kind === 'service') {
    if (!set.serviceTokens) return false
    if (!set.serviceTokens.includes('*') && !set.serviceTokens.includes(who.name)) return false
  } else if (set.serviceTokens) return false
  const p = who.kind === 'person' ? who : undefined
  const email = p?.email.toLowerCase() ?? ''
  const domain = email.split('@')[1] ?? ''
  const checks: boolean[] = []
  if (set.everyone) checks.push(p !== undefined)
  if (set.emails) checks.push(set.emails.includes(email))
  if (set.domains)
    checks.push(
      set.domains.some((d) =>
        d.startsWith('*.') ? domain === d.slice(2) || domain.endsWith(d.slice(1)) : domain === d,
      ),
    )
  if (set.ips)
    checks.push(req.address !== undefined && set.ips.some((r) => inRange(req.address!, r)))
  if (set.countries) checks.push(req.country !== undefined && set.countries.includes(req.country))
  if (set.methods) checks.push(methodListed(set.methods, req.method))
  if (set.organizations) checks.push(set.organizations.includes(p?.organizationId ?? '-'))
  if (set.roles) checks.push((p?.roles ?? []).some((r) => set.roles!.includes(r)))
  if (set.groups) checks.push((p?.groups ?? []).some((g) => set.groups!.includes(g)))
  if (set.authMethods) checks.push(p !== undefined && set.authMethods.includes(p.authMethod))
  if (set.mfa) checks.push(p !== undefined && mfaPassed)
  return checks.every(Boolean)
}

function model(routes: ModelRoute[], req: ModelRequest, who: Principal) {
  const index = routes.findIndex((route) => routeMatches(route, req))
  if (index === -1) return { outcome: 'no_route' }
  const route = routes[index]!
  const decided = (outcome: string) => ({ outcome, route: route.name })
  if (route.public) return decided('allow')
  if (who === null) return decided('sign_in')
  const mfa = who.kind === 'person' && who.mfa === true
  if ((route.deny ?? []).some((set) => setMatches(set, req, who, mfa))) return decided('deny')
  const allowed = route.allow
    ? route.allow.some((set) => setMatches(set, req, who, mfa))
    : who.kind === 'person'
  if (!allowed) {
    const afterMfa =
      who.kind === 'person' &&
      !mfa &&
      (route.allow ?? []).some((set) => set.mfa && setMatches(set, req, who, true))
    return decided(afterMfa ? 'mfa_required' : 'deny')
  }
  if (who.kind === 'person' && route.maxSignInAge !== undefined)
    if (NOW - who.signedInAt > route.maxSignInAge * 1000) return decided('reauthenticate')
  return decided('allow')
}

// ---- properties ------------------------------------------------------------------------------

function compile(routes: ModelRoute[]): CompiledAccess {
  const result = compileAccess(JSON.stringify(toDocument(routes)))
  if (!result.ok) throw new Error(result.problems.join('\n'))
  return result.access
}

const factsOf = (req: ModelRequest): RequestFacts => ({
  host: req.host,
  path: req.path,
  method: req.method,
  ip: req.address?.text ?? '',
  country: req.country,
  now: NOW,
})

describe('evaluate agrees with the naive model', () => {
  it('on random policies, requests and principals', () => {
    const seen = new Map<string, number>()
    fc.assert(
      fc.property(
        policy,
        fc.array(fc.tuple(request, principal), { minLength: 1, maxLength: 8 }),
        (routes, cases) => {
          const access = compile(routes)
          for (const [req, who] of cases) {
            const expected = model(routes, req, who)
            const actual = evaluate(access, factsOf(req), who)
            const explained = evaluate(access, factsOf(req), who, { explain: true })
            const summary = (e: typeof actual) =>
              e.outcome === 'no_route'
                ? { outcome: e.outcome }
                : { outcome: e.outcome, route: e.route.name }
            expect(summary(actual)).toEqual(expected)
            expect(summary(explained)).toEqual(expected)
            seen.set(expected.outcome, (seen.get(expected.outcome) ?? 0) + 1)
          }
        },
      ),
      { numRuns: 400 },
    )
    // The generators reach every outcome, so agreement is not agreement on a trivial subset.
    expect([...seen.keys()].sort()).toEqual([
      'allow',
      'deny',
      'mfa_required',
      'no_route',
      'reauthenticate',
      'sign_in',
    ])
  })

  it('a route lint calls shadowed is never the first match', () => {
    fc.assert(
      fc.property(
        policy,
        fc.array(request, { minLength: 1, maxLength: 10 }),
        (routes, requests) => {
          const access = compile(routes)
          access.routes.forEach((later, i) => {
            if (!access.routes.slice(0, i).some((first) => shadows(first, later))) return
            for (const req of requests)
              expect(matchRoute(access, factsOf(req))?.name).not.toBe(later.name)
          })
        },
      ),
      { numRuns: 300 },
    )
  })
})
