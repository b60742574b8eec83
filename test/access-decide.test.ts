import { describe, expect, it } from 'vitest'
import {
  compileAccess,
  decide,
  evaluate,
  type CompiledAccess,
  type CompiledRoute,
  type Principal,
  type RequestFacts,
} from '../src/access/index.ts'

// Who gets through, route by route, as an operator would notice it.

const NOW = Date.UTC(2026, 0, 1)

function compile(document: unknown): CompiledAccess {
  const result = compileAccess(document)
  if (!result.ok) throw new Error(result.problems.join('\n'))
  return result.access
}

function route(fields: Record<string, unknown>): CompiledRoute {
  return compile({ routes: [{ name: 'r', ...fields }] }).routes[0]!
}

const facts = (overrides: Partial<RequestFacts> = {}): RequestFacts => ({
  host: 'app.example.com',
  path: '/',
  method: 'GET',
  ip: '198.51.100.7',
  country: 'DE',
  now: NOW,
  ...overrides,
})

type Person = Extract<Principal, { kind: 'person' }>

const person = (overrides: Partial<Person> = {}): Person => ({
  kind: 'person',
  email: 'ada@example.com',
  userId: 'user_ada',
  signedInAt: NOW - 60_000,
  authMethod: 'code',
  ...overrides,
})

const token = (name = 'ci-bot'): Principal => ({ kind: 'service', id: 'svc_1', name })

const outcome = (
  r: CompiledRoute,
  principal: Principal,
  overrides: Partial<RequestFacts> = {},
): string => {
  const quick = decide(r, facts(overrides), principal)
  // The explained decision must never differ from the Worker's.
  expect(decide(r, facts(overrides), principal, { explain: true }).outcome).toBe(quick.outcome)
  return quick.outcome
}

const allows = (
  conditions: Record<string, unknown>,
  principal: Principal,
  overrides: Partial<RequestFacts> = {},
) => outcome(route({ allow: [conditions] }), principal, overrides) === 'allow'

describe('outcomes', () => {
  it('public: anyone, signed in or not, token or not', () => {
    const r = route({ public: true })
    expect(outcome(r, null)).toBe('allow')
    expect(outcome(r, person())).toBe('allow')
    expect(outcome(r, token())).toBe('allow')
    expect(decide(r, facts(), null).rule).toBe('public')
  })

  it('no session and no token: sign in, whatever the rules', () => {
    expect(outcome(route({}), null)).toBe('sign_in')
    expect(outcome(route({ allow: [{ everyone: true }] }), null)).toBe('sign_in')
    expect(outcome(route({ deny: [{ countries: ['DE'] }] }), null)).toBe('sign_in')
  })

  it('no allow: any signed-in person, but not a service token (a token is not a person)', () => {
    const r = route({})
    expect(outcome(r, person())).toBe('allow')
    expect(decide(r, facts(), person()).rule).toBe('signed-in')
    expect(outcome(r, token())).toBe('deny')
  })

  it('allow: refused when no set matches', () => {
    expect(outcome(route({ allow: [{ emails: ['bob@example.com'] }] }), person())).toBe('deny')
  })

  it('deny wins over allow', () => {
    const r = route({
      allow: [{ emails: ['ada@example.com'] }],
      deny: [{ countries: ['DE'] }],
    })
    expect(outcome(r, person())).toBe('deny')
    expect(decide(r, facts(), person()).rule).toBe('deny[0]')
    expect(outcome(r, person(), { country: 'FR' })).toBe('allow')
  })

  it('any matching deny set refuses', () => {
    const r = route({ deny: [{ countries: ['XX'] }, { emails: ['ada@example.com'] }] })
    expect(outcome(r, person())).toBe('deny')
    expect(decide(r, facts(), person()).rule).toBe('deny[1]')
    expect(outcome(r, person({ email: 'bob@example.com' }))).toBe('allow')
  })

  it('a sign-in older than maxSignInAge: sign in again; exactly at the limit is still fine', () => {
    const r = route({ maxSignInAge: 3600 })
    expect(outcome(r, person({ signedInAt: NOW - 3_600_000 }))).toBe('allow')
    expect(outcome(r, person({ signedInAt: NOW - 3_600_001 }))).toBe('reauthenticate')
    expect(decide(r, facts(), person({ signedInAt: 0 })).rule).toBe('maxSignInAge')
  })

  it('a refusal is a refusal even when the sign-in is also too old', () => {
    const r = route({ maxSignInAge: 60, allow: [{ emails: ['bob@example.com'] }] })
    expect(outcome(r, person({ signedInAt: 0 }))).toBe('deny')
    const denied = route({ maxSignInAge: 60, deny: [{ everyone: true }] })
    expect(outcome(denied, person({ signedInAt: 0 }))).toBe('deny')
  })

  it('maxSignInAge does not apply to a service token', () => {
    const r = route({ maxSignInAge: 60, allow: [{ serviceTokens: ['ci-bot'] }] })
    expect(outcome(r, token())).toBe('allow')
  })

  it('mfa_required when a set would match after a second factor; allowed once passed', () => {
    const r = route({ allow: [{ roles: ['admin'], mfa: true }] })
    expect(outcome(r, person({ roles: ['admin'] }))).toBe('mfa_required')
    expect(decide(r, facts(), person({ roles: ['admin'] })).rule).toBe('allow[0]')
    expect(outcome(r, person({ roles: ['admin'], mfa: true }))).toBe('allow')
  })

  it('no MFA prompt for someone MFA would not help', () => {
    const r = route({ allow: [{ roles: ['admin'], mfa: true }] })
    expect(outcome(r, person({ roles: ['viewer'] }))).toBe('deny')
    expect(outcome(r, token())).toBe('deny')
  })

  it('another set that matches without MFA allows without asking', () => {
    const r = route({ allow: [{ mfa: true, everyone: true }, { emails: ['ada@example.com'] }] })
    expect(outcome(r, person())).toBe('allow')
    expect(decide(r, facts(), person()).rule).toBe('allow[1]')
  })

  it('deny wins over mfa_required', () => {
    const r = route({ allow: [{ mfa: true, everyone: true }], deny: [{ countries: ['DE'] }] })
    expect(outcome(r, person())).toBe('deny')
  })
})

describe('conditions', () => {
  it('sets are OR, keys in a set are AND, a key’s list is OR', () => {
    const r = route({
      allow: [
        { emails: ['ada@example.com', 'bob@example.com'], countries: ['DE'] },
        { emails: ['carol@example.com'] },
      ],
    })
    expect(outcome(r, person())).toBe('allow')
    expect(outcome(r, person({ email: 'bob@example.com' }))).toBe('allow')
    expect(outcome(r, person(), { country: 'FR' })).toBe('deny')
    expect(outcome(r, person({ email: 'carol@example.com' }), { country: 'FR' })).toBe('allow')
  })

  it('everyone: any person, never a token', () => {
    expect(allows({ everyone: true }, person())).toBe(true)
    expect(allows({ everyone: true }, token())).toBe(false)
  })

  it('emails: whatever the case of the address', () => {
    expect(allows({ emails: ['Ada@Example.com'] }, person({ email: 'ADA@example.COM' }))).toBe(true)
    expect(allows({ emails: ['ada@example.com'] }, person({ email: 'ada@example.co' }))).toBe(false)
  })

  it('domains: exact, or *.example.com for the domain and its subdomains, never a look-alike', () => {
    expect(allows({ domains: ['example.com'] }, person())).toBe(true)
    expect(allows({ domains: ['example.com'] }, person({ email: 'a@eu.example.com' }))).toBe(false)
    expect(allows({ domains: ['*.example.com'] }, person({ email: 'a@eu.example.com' }))).toBe(true)
    expect(allows({ domains: ['*.example.com'] }, person({ email: 'a@example.com' }))).toBe(true)
    expect(allows({ domains: ['*.example.com'] }, person({ email: 'a@badexample.com' }))).toBe(
      false,
    )
    expect(allows({ domains: ['example.com'] }, person({ email: 'example.com@evil.test' }))).toBe(
      false,
    )
    expect(allows({ domains: ['example.com'] }, person({ email: 'A@EXAMPLE.COM' }))).toBe(true)
  })

  it('ips: addresses and ranges, IPv4 and IPv6, IPv4-mapped clients; unknown never matches', () => {
    const set = { ips: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7'] }
    expect(allows(set, person(), { ip: '203.0.113.200' })).toBe(true)
    expect(allows(set, person(), { ip: '203.0.114.1' })).toBe(false)
    expect(allows(set, person(), { ip: '2001:db8:1::5' })).toBe(true)
    expect(allows(set, person(), { ip: '2001:db9::5' })).toBe(false)
    expect(allows(set, person(), { ip: '198.51.100.7' })).toBe(true)
    expect(allows(set, person(), { ip: '::ffff:203.0.113.9' })).toBe(true)
    expect(allows(set, person(), { ip: '' })).toBe(false)
    expect(allows(set, person(), { ip: 'not-an-ip' })).toBe(false)
  })

  it('countries: listed codes; no country (local dev) never matches, in allow or deny', () => {
    expect(allows({ countries: ['de'] }, person(), { country: 'DE' })).toBe(true)
    expect(allows({ countries: ['DE'] }, person(), { country: 'FR' })).toBe(false)
    expect(allows({ countries: ['DE'] }, person(), { country: undefined })).toBe(false)
    expect(
      outcome(route({ deny: [{ countries: ['DE'] }] }), person(), { country: undefined }),
    ).toBe('allow')
  })

  it('methods: the request method, whatever its case', () => {
    expect(allows({ methods: ['GET', 'HEAD'] }, person(), { method: 'HEAD' })).toBe(true)
    expect(allows({ methods: ['GET'] }, person(), { method: 'POST' })).toBe(false)
    const r = route({ deny: [{ methods: ['PATCH'] }] })
    expect(outcome(r, person(), { method: 'patch' })).toBe('deny')
  })

  it('methods: a set naming GET also matches HEAD, which origins answer with the GET handler', () => {
    const r = route({ deny: [{ methods: ['GET'] }] })
    expect(outcome(r, person(), { method: 'HEAD' })).toBe('deny')
    expect(outcome(r, person(), { method: 'head' })).toBe('deny')
    expect(outcome(r, person(), { method: 'POST' })).toBe('allow')
    expect(allows({ methods: ['GET'] }, person(), { method: 'HEAD' })).toBe(true)
    // HEAD names only HEAD.
    expect(allows({ methods: ['HEAD'] }, person(), { method: 'GET' })).toBe(false)
  })

  it('serviceTokens: named tokens or *; a person never matches such a set', () => {
    expect(allows({ serviceTokens: ['ci-bot'] }, token('ci-bot'))).toBe(true)
    expect(allows({ serviceTokens: ['ci-bot'] }, token('deploy'))).toBe(false)
    expect(allows({ serviceTokens: ['*'] }, token('deploy'))).toBe(true)
    expect(allows({ serviceTokens: ['*'] }, person())).toBe(false)
    expect(
      allows({ serviceTokens: ['ci-bot'], ips: ['10.0.0.0/8'] }, token(), { ip: '10.1.1.1' }),
    ).toBe(true)
    expect(allows({ serviceTokens: ['ci-bot'], ips: ['10.0.0.0/8'] }, token())).toBe(false)
  })

  it('a token meets only sets naming serviceTokens, in deny too', () => {
    const r = route({
      allow: [{ serviceTokens: ['*'] }],
      deny: [{ countries: ['DE'] }, { serviceTokens: ['revoked-bot'] }],
    })
    expect(outcome(r, token('ci-bot'))).toBe('allow')
    expect(outcome(r, token('revoked-bot'))).toBe('deny')
    expect(outcome(route({ allow: [{ ips: ['0.0.0.0/0'] }] }), token(), { ip: '1.2.3.4' })).toBe(
      'deny',
    )
  })

  it('organizations, roles, groups: from enterprise SSO', () => {
    const sso = person({
      authMethod: 'sso',
      organizationId: 'org_acme',
      roles: ['member', 'admin'],
      groups: ['Engineering'],
    })
    expect(allows({ organizations: ['org_acme'] }, sso)).toBe(true)
    expect(allows({ organizations: ['org_other'] }, sso)).toBe(false)
    expect(allows({ organizations: ['org_acme'] }, person())).toBe(false)
    expect(allows({ roles: ['admin'] }, sso)).toBe(true)
    expect(allows({ roles: ['owner'] }, sso)).toBe(false)
    expect(allows({ roles: ['admin'] }, person())).toBe(false)
    expect(allows({ groups: ['Engineering'] }, sso)).toBe(true)
    expect(allows({ groups: ['engineering'] }, sso)).toBe(false) // as the IdP sent them
    expect(allows({ groups: ['Engineering'] }, person({ groups: [] }))).toBe(false)
  })

  it('authMethods: how the person signed in', () => {
    expect(allows({ authMethods: ['sso'] }, person({ authMethod: 'sso' }))).toBe(true)
    expect(allows({ authMethods: ['sso'] }, person({ authMethod: 'link' }))).toBe(false)
    expect(allows({ authMethods: ['code', 'link'] }, person({ authMethod: 'link' }))).toBe(true)
  })

  it('mfa: only a session that passed a second factor', () => {
    expect(allows({ mfa: true }, person({ mfa: true }))).toBe(true)
    expect(allows({ mfa: true }, person({ mfa: false }))).toBe(false)
  })
})

describe('routes', () => {
  const access = compile({
    routes: [
      {
        name: 'writes',
        path: '/api/*',
        methods: ['POST', 'PUT'],
        allow: [{ emails: ['ops@example.com'] }],
      },
      { name: 'api', path: '/api/*', allow: [{ domains: ['example.com'] }] },
      { name: 'admin', host: 'admin.example.com', deny: [{ everyone: true }] },
      { name: 'everyone', path: '/*' },
    ],
  })

  it('the first matching route decides, even when a later one would allow', () => {
    const ada = person()
    const admin = evaluate(access, facts({ host: 'admin.example.com', path: '/x' }), ada)
    expect(admin.outcome).toBe('deny')
    expect(admin.outcome !== 'no_route' && admin.route.name).toBe('admin')
  })

  it('a route’s methods restrict what it matches; other methods fall through', () => {
    const post = evaluate(access, facts({ path: '/api/x', method: 'POST' }), person())
    expect(post.outcome !== 'no_route' && post.route.name).toBe('writes')
    expect(post.outcome).toBe('deny')
    const get = evaluate(access, facts({ path: '/api/x' }), person())
    expect(get.outcome !== 'no_route' && get.route.name).toBe('api')
    expect(get.outcome).toBe('allow')
    const lower = evaluate(access, facts({ path: '/api/x', method: 'put' }), person())
    expect(lower.outcome !== 'no_route' && lower.route.name).toBe('writes')
  })

  it('host tricks pick no other route', () => {
    for (const host of ['ADMIN.example.com', 'admin.example.com.', 'admin.example.com:444']) {
      const result = evaluate(access, facts({ host, path: '/x' }), person())
      expect(result.outcome !== 'no_route' && result.route.name).toBe('admin')
    }
  })

  it('no route: no_route', () => {
    const narrow = compile({ routes: [{ name: 'only', path: '/only' }] })
    expect(evaluate(narrow, facts({ path: '/other' }), person())).toEqual({ outcome: 'no_route' })
  })
})

describe('explanations (the check tool)', () => {
  const r = route({
    deny: [{ countries: ['XX'] }],
    allow: [
      { emails: ['bob@example.com'], ips: ['10.0.0.0/8'] },
      { serviceTokens: ['ci-bot'] },
      { everyone: true, mfa: true },
    ],
    maxSignInAge: 3600,
  })

  it('each rule says whether it matched and which keys did not', () => {
    const explained = decide(r, facts(), person(), { explain: true })
    expect(explained.outcome).toBe('mfa_required')
    expect(explained.verdicts).toEqual([
      { rule: 'deny[0]', matched: false, detail: 'no match (countries)' },
      { rule: 'allow[0]', matched: false, detail: 'no match (emails, ips)' },
      { rule: 'allow[1]', matched: false, detail: 'no match (serviceTokens: not a service token)' },
      { rule: 'allow[2]', matched: false, detail: 'no match (mfa); would match after MFA' },
    ])
  })

  it('the sign-in age is explained once allowed', () => {
    const explained = decide(r, facts(), person({ mfa: true, signedInAt: NOW - 7_200_000 }), {
      explain: true,
    })
    expect(explained.outcome).toBe('reauthenticate')
    expect(explained.verdicts.at(-1)).toEqual({
      rule: 'maxSignInAge',
      matched: false,
      detail: 'signed in 7200 s ago; at most 3600 s allowed',
    })
  })

  it('a token is told why person sets pass it by', () => {
    const explained = decide(r, facts(), token(), { explain: true })
    expect(explained.outcome).toBe('allow')
    expect(explained.verdicts[0]!.detail).toBe(
      'no match (a service token only matches sets naming serviceTokens)',
    )
  })

  it('without explain, nothing is built: the Worker pays for no explanations', () => {
    const first = decide(r, facts(), person()).verdicts
    expect(first).toHaveLength(0)
    expect(decide(route({}), facts(), person()).verdicts).toBe(first)
  })
})
