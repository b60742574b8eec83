import { describe, expect, it } from 'vitest'
import { compileAccess } from '../src/access/index.ts'
import { compile, oneRoute, problems } from './compile-access'

// ACCESS as an operator writes it: every problem at once, each naming the route and the field,
// never a value; unknown fields refused so a typo cannot leave a route open.

// The README's worked policy, in JSON.
const EXAMPLE = {
  routes: [
    { name: 'status', path: '/status', public: true },
    {
      name: 'api',
      path: '/api/*',
      origin: 'https://api.internal.example',
      allow: [{ domains: ['example.com'] }, { serviceTokens: ['ci-bot'] }],
      cors: {
        origins: ['https://app.example.com'],
        methods: ['GET', 'POST'],
        headers: ['content-type'],
        credentials: true,
        maxAge: 600,
      },
    },
    {
      name: 'admin',
      host: 'admin.example.com',
      path: '/*',
      allow: [{ emails: ['ops@example.com'], ips: ['203.0.113.0/24'] }],
      deny: [{ countries: ['XX'] }],
      maxSignInAge: 3600,
    },
    { name: 'app', path: '/*' },
  ],
}

describe('what compiles', () => {
  it('the contract’s example, as a JSON string (--var, .dev.vars) and as a TOML table', () => {
    const fromString = compile(JSON.stringify(EXAMPLE))
    const fromTable = compile(EXAMPLE)
    expect(fromString.routes.map((r) => r.name)).toEqual(['status', 'api', 'admin', 'app'])
    expect(fromTable.routes.map((r) => r.name)).toEqual(['status', 'api', 'admin', 'app'])
    expect(fromString.hosts).toEqual(['admin.example.com'])
  })

  it('defaults: any host, path /*, any method, ORIGIN_URL, not public, websockets on', () => {
    const [route] = compile(oneRoute({})).routes
    expect(route).toMatchObject({
      name: 'r',
      label: 'routes[0] (r)',
      host: { kind: 'any' },
      path: { kind: 'all' },
      methods: undefined,
      target: { kind: 'default' },
      public: false,
      allow: undefined,
      deny: [],
      maxSignInAge: undefined,
      cors: undefined,
      websockets: true,
    })
  })

  it('origin: a path in it is a prefix, kept without its trailing slash', () => {
    const target = (origin: string) => compile(oneRoute({ origin })).routes[0]!.target
    expect(target('https://api.internal.example')).toEqual({
      kind: 'origin',
      origin: 'https://api.internal.example',
      pathPrefix: '',
    })
    expect(target('http://10.0.0.5:8080/v1/')).toEqual({
      kind: 'origin',
      origin: 'http://10.0.0.5:8080',
      pathPrefix: '/v1',
    })
  })

  it('service: a binding name; the Worker checks that it exists', () => {
    const access = compile(oneRoute({ service: 'API_WORKER' }))
    expect(access.routes[0]!.target).toEqual({ kind: 'service', binding: 'API_WORKER' })
    expect(access.services).toEqual(['API_WORKER'])
  })

  it('cors: exact origins as browsers send them, header values joined once, defaults filled', () => {
    const cors = compile(
      oneRoute({
        cors: {
          origins: ['https://App.Example.com:443/', 'http://localhost:3000'],
          headers: ['Content-Type', 'X-Requested-With'],
        },
      }),
    ).routes[0]!.cors!
    expect([...cors.origins]).toEqual(['https://app.example.com', 'http://localhost:3000'])
    expect(cors).toMatchObject({
      methods: ['GET', 'HEAD', 'POST'],
      headers: ['content-type', 'x-requested-with'],
      credentials: false,
      maxAge: 600,
      allowMethods: 'GET, HEAD, POST',
      allowHeaders: 'content-type, x-requested-with',
    })
  })

  it('normalises what people write in mixed case: hosts, emails, domains, countries', () => {
    const [route] = compile(
      oneRoute({
        host: 'Admin.Example.COM',
        allow: [
          {
            emails: [' Ops@Example.com '],
            domains: ['*.Example.org', 'Example.net'],
            countries: ['de', 'T1'],
          },
        ],
      }),
    ).routes
    const set = route!.allow![0]!
    expect(route!.host).toEqual({ kind: 'exact', host: 'admin.example.com' })
    expect([...set.emails!]).toEqual(['ops@example.com'])
    expect([...set.domains!.exact].sort()).toEqual(['example.net', 'example.org'])
    expect(set.domains!.suffixes).toEqual(['.example.org'])
    expect([...set.countries!]).toEqual(['DE', 'T1'])
    expect(set.keys).toEqual(['emails', 'domains', 'countries'])
  })

  it('every condition key is accepted', () => {
    const [route] = compile(
      oneRoute({
        allow: [
          {
            everyone: true,
            emails: ['a@example.com'],
            domains: ['example.com'],
            ips: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7'],
            countries: ['DE'],
            methods: ['GET'],
            organizations: ['org_01HXYZ'],
            roles: ['admin'],
            groups: ['Engineering Leads'],
            authMethods: ['sso', 'code', 'link'],
            mfa: true,
          },
          { serviceTokens: ['*'], ips: ['10.0.0.0/8'], methods: ['POST'], countries: ['DE'] },
        ],
      }),
    ).routes
    expect(route!.allow![0]!.keys).toHaveLength(11)
    expect(route!.allow![1]!.serviceTokens).toEqual({ any: true, names: new Set() })
  })
})

describe('what does not compile', () => {
  it('not JSON: says where, never quotes the text', () => {
    const found = problems('{"routes": [{"name": "a", "origin": "https://sekrit-token@x"')
    expect(found).toHaveLength(1)
    expect(found[0]).toMatch(/^must be JSON/)
    expect(found[0]).not.toContain('sekrit')
  })

  it.each([
    ['an array', []],
    ['a number', 3],
    ['null', null],
    ['a JSON array', '[]'],
  ])('not an object (%s)', (_, document) => {
    expect(problems(document)).toEqual(['must be a JSON object: {"routes": [ … ]}'])
  })

  it('no routes, or an empty list', () => {
    expect(problems({})).toEqual(['routes: must be a non-empty list of routes'])
    expect(problems({ routes: [] })).toEqual(['routes: must be a non-empty list of routes'])
    expect(problems({ routes: {} })).toEqual(['routes: must be a non-empty list of routes'])
  })

  it('every problem of every route at once, each naming the route and the field', () => {
    const found = problems({
      route: [],
      routes: [
        { name: 'ok' },
        'not a route',
        {
          name: 'admin',
          host: 'https://admin.example.com',
          path: 'admin',
          methods: ['get'],
          maxSignInAge: 0,
          websockets: 'yes',
        },
        { name: 'admin', public: 'true' },
        { path: '/x' },
      ],
    })
    expect(found).toEqual([
      'route: unknown field (did you mean "routes"?)',
      'routes[1]: must be an object with at least a "name"',
      'routes[2] (admin).host: must be an exact host or *.example.com (no scheme, port or path)',
      'routes[2] (admin).path: must start with "/"',
      'routes[2] (admin).methods[0]: must be an uppercase HTTP method such as GET',
      'routes[2] (admin).maxSignInAge: must be a positive whole number of seconds',
      'routes[2] (admin).websockets: must be true or false',
      'routes[3] (admin).name: must be unique (routes[2] has the same name)',
      'routes[3] (admin).public: must be true or false',
      'routes[4].name: is required: 1 to 64 of a-z, 0-9 and "-"',
    ])
  })

  it('unknown fields anywhere are problems, with a suggestion for a near miss', () => {
    const found = problems(
      oneRoute({
        alow: [{ emails: ['a@example.com'] }],
        deny: [{ country: ['XX'] }],
        cors: { origins: ['https://a.example'], credential: true },
        websocket: false,
        description: 'x',
      }),
    )
    expect(found).toEqual([
      'routes[0] (r).alow: unknown field (did you mean "allow"?)',
      'routes[0] (r).websocket: unknown field (did you mean "websockets"?)',
      'routes[0] (r).description: unknown field; expected one of name, host, path, caseSensitive, methods, origin, service, public, allow, deny, maxSignInAge, cors, websockets, assertion, audience, revocation, oauth, launcher',
      'routes[0] (r).deny[0].country: unknown field (did you mean "countries"?)',
      'routes[0] (r).cors.credential: unknown field (did you mean "credentials"?)',
    ])
  })

  it('a field name that looks like a pasted secret is not repeated', () => {
    const secret = 'sk_live_' + 'a'.repeat(60)
    const found = problems({ routes: [{ name: 'r', [secret]: true }] })
    expect(found).toEqual([
      'routes[0] (r): unknown field (name not shown); expected one of name, host, path, caseSensitive, methods, origin, service, public, allow, deny, maxSignInAge, cors, websockets, assertion, audience, revocation, oauth, launcher',
    ])
  })

  it('values are never repeated, even wrong ones', () => {
    const secret = 'hunter2 SECRET VALUE'
    const found = problems(
      oneRoute({
        host: secret,
        path: `/${secret}*`,
        origin: `https://user:${secret}@api.example`,
        allow: [{ emails: [secret], serviceTokens: [`${secret}\u0000`] }],
        cors: { origins: [secret] },
      }),
    )
    expect(found.length).toBeGreaterThanOrEqual(7)
    for (const problem of found) expect(problem).not.toContain(secret)
    expect(found).toContain(
      'routes[0] (r).origin: must not carry credentials (use a service binding or the assertion)',
    )
  })

  it.each([
    ['/x*', 'may contain "*" only as a final "/*"'],
    ['/*/x', 'may contain "*" only as a final "/*"'],
    ['/a/../b', 'must be a plain path'],
    ['/a/./b', 'must be a plain path'],
    ['/a;b', 'must be a plain path'],
    ['/a?b', 'must be a plain path'],
    ['/a#b', 'must be a plain path'],
    ['/a//b', 'must be a plain path'],
    ['//*', 'must be a plain path'],
    ['/a%2fb', 'must be a plain path'],
    ['/café', 'must be a plain path'],
    ['/a b', 'must be a plain path'],
  ])('path %j is refused', (path, problem) => {
    const found = problems(oneRoute({ path }))
    expect(found).toHaveLength(1)
    expect(found[0]!.startsWith(`routes[0] (r).path: ${problem}`)).toBe(true)
  })

  it.each([
    '/auth/*',
    '/auth',
    '/auth/login',
    '/.well-known/*',
    '/.well-known/jwks.json',
    '/healthz',
    '/__dev/*',
  ])(
    'a route inside the gateway’s own paths (%s) is a problem: it would never be reached',
    (path) => {
      expect(problems(oneRoute({ path }))[0]).toMatch(/^routes\[0\] \(r\)\.path: is a gateway path/)
    },
  )

  it('caseSensitive: true or false; a path folds case unless it says true', () => {
    const [folded, exact] = compile({
      routes: [
        { name: 'a', path: '/Reports/*' },
        { name: 'b', path: '/Reports/*', caseSensitive: true },
      ],
    }).routes
    expect(folded!.path).toMatchObject({ kind: 'prefix', caseSensitive: false })
    expect(exact!.path).toMatchObject({ kind: 'prefix', caseSensitive: true })
    expect(problems(oneRoute({ path: '/x', caseSensitive: 'yes' }))).toEqual([
      'routes[0] (r).caseSensitive: must be true or false',
    ])
    expect(problems(oneRoute({ path: '/x', casesensitive: true }))[0]).toContain(
      'did you mean "caseSensitive"?',
    )
  })

  it('paths that only overlap the gateway’s own are fine', () => {
    for (const path of ['/*', '/authors/*', '/healthz/*', '/'])
      expect(compileAccess(oneRoute({ path })).ok).toBe(true)
  })

  it.each([
    ['example.com:443'],
    ['*.com'],
    ['*'],
    ['a.*.example.com'],
    ['-a.example.com'],
    ['example.com.'],
    ['exa mple.com'],
    ['[::1]'],
  ])('host %j is refused', (host) => {
    expect(problems(oneRoute({ host }))).toEqual([
      'routes[0] (r).host: must be an exact host or *.example.com (no scheme, port or path)',
    ])
  })

  it('origin and service: one destination, each well-formed', () => {
    expect(problems(oneRoute({ origin: 'https://a.example', service: 'API' }))).toEqual([
      'routes[0] (r).service: cannot be set together with origin (one destination per route)',
    ])
    expect(problems(oneRoute({ origin: 'ftp://a.example' }))).toEqual([
      'routes[0] (r).origin: must be an http(s) URL',
    ])
    expect(problems(oneRoute({ origin: 'https://a.example/?x=1' }))).toEqual([
      'routes[0] (r).origin: must not have a query or fragment',
    ])
    expect(problems(oneRoute({ service: 'api-worker' }))).toEqual([
      'routes[0] (r).service: must be the name of a service binding, e.g. API_WORKER',
    ])
  })

  it('a public route takes no allow, deny or maxSignInAge: they would read as enforced', () => {
    expect(
      problems(
        oneRoute({
          public: true,
          allow: [{ everyone: true }],
          deny: [{ countries: ['XX'] }],
          maxSignInAge: 60,
        }),
      ),
    ).toEqual([
      'routes[0] (r).allow: has no effect on a public route (remove it, or remove "public")',
      'routes[0] (r).deny: has no effect on a public route (remove it, or remove "public")',
      'routes[0] (r).maxSignInAge: has no effect on a public route (remove it, or remove "public")',
    ])
  })

  it('condition sets: not empty, allow not empty, serviceTokens not mixed with person keys', () => {
    expect(problems(oneRoute({ allow: [{}] }))).toEqual([
      'routes[0] (r).allow[0]: must have at least one condition (for any signed-in person: {"everyone": true})',
    ])
    expect(problems(oneRoute({ allow: [] }))[0]).toMatch(
      /^routes\[0\] \(r\)\.allow: must list at least one condition set/,
    )
    expect(problems(oneRoute({ allow: { emails: ['a@example.com'] } }))[0]).toMatch(
      /^routes\[0\] \(r\)\.allow: must be a list of condition sets/,
    )
    expect(
      problems(
        oneRoute({ deny: [{ serviceTokens: ['ci'], emails: ['a@example.com'], mfa: true }] }),
      ),
    ).toEqual([
      'routes[0] (r).deny[0]: cannot combine serviceTokens with emails, mfa: a token is not a person, so the set would match nobody (use two sets)',
    ])
  })

  it.each([
    [{ everyone: false }, 'everyone: must be true (or left out)'],
    [{ mfa: 'yes' }, 'mfa: must be true (or left out)'],
    [{ emails: [] }, 'emails: must be a non-empty list, each an email address'],
    [{ emails: 'a@example.com' }, 'emails: must be a non-empty list, each an email address'],
    [{ emails: ['a@example.com', 'nobody'] }, 'emails[1]: must be an email address'],
    [{ domains: ['example'] }, 'domains[0]: must be a domain: example.com or *.example.com'],
    [{ domains: ['*.com'] }, 'domains[0]: must be a domain: example.com or *.example.com'],
    [{ domains: ['@example.com'] }, 'domains[0]: must be a domain: example.com or *.example.com'],
    [
      { ips: ['10.0.0.1/8'] },
      'ips[0]: has bits set beyond its prefix length (write the network address)',
    ],
    [{ ips: ['10.0.0.0/40'] }, 'ips[0]: must have a prefix length from 0 to 32'],
    [{ ips: ['10.0.0'] }, 'ips[0]: must be an IPv4 or IPv6 address or CIDR range'],
    [{ countries: ['DEU'] }, 'countries[0]: must be a two-letter country code such as DE'],
    [{ methods: ['get'] }, 'methods[0]: must be an uppercase HTTP method such as GET'],
    [{ serviceTokens: [''] }, 'serviceTokens[0]: must be a service token name, or "*" for any'],
    [{ organizations: ['acme'] }, 'organizations[0]: must be a WorkOS organization id (org_…)'],
    [{ roles: [42] }, 'roles: must be a non-empty list, each a role slug'],
    [{ groups: [''] }, 'groups[0]: must be a group name'],
    [{ authMethods: ['password'] }, 'authMethods[0]: must be "sso", "code" or "link"'],
  ])('condition %j is refused', (set, problem) => {
    expect(problems(oneRoute({ allow: [set] }))).toEqual([`routes[0] (r).allow[0].${problem}`])
  })

  it.each([
    [{}, 'origins: must list at least one origin, e.g. ["https://app.example.com"]'],
    [{ origins: ['*'] }, 'origins[0]: must be an exact origin ("*" and "null" are never allowed)'],
    [
      { origins: ['null'] },
      'origins[0]: must be an exact origin ("*" and "null" are never allowed)',
    ],
    [
      { origins: ['https://a.example/app'] },
      'origins[0]: must be an origin: scheme, host and port, no path',
    ],
    [
      { origins: ['app.example.com'] },
      'origins[0]: must be an origin: scheme, host and port, no path',
    ],
    [
      { origins: ['https://*.example.com'] },
      'origins[0]: must be an origin: scheme, host and port, no path',
    ],
    [
      { origins: ['https://a.example'], methods: ['post'] },
      'methods[0]: must be an uppercase HTTP method such as GET',
    ],
    [
      { origins: ['https://a.example'], headers: ['bad header'] },
      'headers[0]: must be a header name',
    ],
    [{ origins: ['https://a.example'], credentials: 'true' }, 'credentials: must be true or false'],
    [
      { origins: ['https://a.example'], maxAge: 86401 },
      'maxAge: must be a whole number of seconds from 0 to 86400',
    ],
    [
      { origins: ['https://a.example'], maxAge: 1.5 },
      'maxAge: must be a whole number of seconds from 0 to 86400',
    ],
  ])('cors %j is refused', (cors, problem) => {
    expect(problems(oneRoute({ cors }))).toEqual([`routes[0] (r).cors.${problem}`])
  })
})
