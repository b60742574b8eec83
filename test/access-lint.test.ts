import { describe, expect, it } from 'vitest'
import { compileAccess, lintAccess, type CompiledAccess } from '../src/access/index.ts'

// `npm run access -- lint`: a policy that compiles but says something other than what was meant.

function compile(routes: Record<string, unknown>[]): CompiledAccess {
  const result = compileAccess({ routes: routes.map((route, i) => ({ name: `r${i}`, ...route })) })
  if (!result.ok) throw new Error(result.problems.join('\n'))
  return result.access
}

const shadowed = (routes: Record<string, unknown>[]) =>
  lintAccess(compile(routes))
    .filter((warning) => warning.includes('is never reached'))
    .map((warning) => warning.slice(0, warning.indexOf(' ')))

describe('shadowed routes', () => {
  it('a catch-all hides every route after it', () => {
    expect(shadowed([{ path: '/*' }, { path: '/api/*' }, { host: 'a.example.com' }])).toEqual([
      'routes[1]',
      'routes[2]',
    ])
    expect(lintAccess(compile([{}, { path: '/x' }]))[0]).toBe(
      'routes[1] (r1) is never reached: routes[0] (r0) comes first and matches every request it ' +
        'would (first match wins; move the narrower route up)',
    )
  })

  it('a prefix hides what lies beneath it, not its look-alikes', () => {
    expect(
      shadowed([{ path: '/api/*' }, { path: '/api/v1/*' }, { path: '/api' }, { path: '/apix' }]),
    ).toEqual(['routes[1]', 'routes[2]'])
  })

  it('an exact path hides only itself', () => {
    expect(shadowed([{ path: '/api' }, { path: '/api/*' }, { path: '/api' }])).toEqual([
      'routes[2]',
    ])
  })

  it('hosts: any covers all; *.example.com covers its subdomains, not the apex', () => {
    expect(
      shadowed([
        { host: '*.example.com' },
        { host: 'a.example.com' },
        { host: '*.a.example.com' },
        { host: 'example.com' },
        {},
      ]),
    ).toEqual(['routes[1]', 'routes[2]'])
    expect(shadowed([{ host: 'a.example.com' }, {}])).toEqual([])
  })

  it('methods: a route limited to some methods hides only routes limited to fewer', () => {
    expect(
      shadowed([
        { path: '/api/*', methods: ['GET', 'POST'] },
        { path: '/api/x', methods: ['GET'] },
        { path: '/api/y', methods: ['GET', 'DELETE'] },
        { path: '/api/z' },
      ]),
    ).toEqual(['routes[1]'])
  })

  it('paths fold case as requests do: /admin/* hides /ADMIN/x; a caseSensitive route hides only its spelling', () => {
    expect(shadowed([{ path: '/admin/*' }, { path: '/ADMIN/x' }, { path: '/Admin' }])).toEqual([
      'routes[1]',
      'routes[2]',
    ])
    expect(
      shadowed([{ path: '/admin/*' }, { path: '/Admin/Labels/*', caseSensitive: true }]),
    ).toEqual(['routes[1]'])
    // /Admin/* (as written) does not take /admin/x, which the later route folds to.
    expect(shadowed([{ path: '/Admin/*', caseSensitive: true }, { path: '/Admin/x' }])).toEqual([])
    expect(
      shadowed([
        { path: '/Admin/*', caseSensitive: true },
        { path: '/Admin/x', caseSensitive: true },
      ]),
    ).toEqual(['routes[1]'])
  })

  it('an exact path hides its spelling with a trailing slash, which it also matches', () => {
    expect(shadowed([{ path: '/report' }, { path: '/report/' }])).toEqual(['routes[1]'])
    expect(shadowed([{ path: '/report/' }, { path: '/report' }])).toEqual(['routes[1]'])
  })

  it('no warnings for a sensible policy', () => {
    expect(
      lintAccess(
        compile([
          { path: '/status', public: true },
          { path: '/api/v1/*' },
          { path: '/api/*' },
          { host: 'admin.example.com' },
          { path: '/*' },
        ]),
      ),
    ).toEqual([])
  })
})

describe('deny sets a service token passes by', () => {
  it('warns where the route admits tokens and a deny set does not name them', () => {
    expect(
      lintAccess(
        compile([
          {
            allow: [{ serviceTokens: ['ci-bot'] }],
            deny: [{ countries: ['XX'] }, { serviceTokens: ['*'], countries: ['XX'] }],
          },
        ]),
      ),
    ).toEqual([
      'routes[0] (r0).deny[0] does not apply to service tokens, which this route admits (a token ' +
        'only meets sets naming serviceTokens; add a set that names them)',
    ])
  })

  it('stays quiet where tokens are not admitted anyway', () => {
    expect(lintAccess(compile([{ deny: [{ countries: ['XX'] }] }]))).toEqual([])
  })
})

describe('roles and groups without an organization', () => {
  // Each organization's IdP names its own groups and roles: "admins" at one customer is anyone
  // that customer's IdP says it is, so a set naming groups or roles needs its organization too.
  it('warns for an allow set naming roles or groups without organizations', () => {
    expect(
      lintAccess(
        compile([
          {
            allow: [
              { groups: ['admins'] },
              { roles: ['owner'], mfa: true },
              { roles: ['admin'], groups: ['ops'] },
              { organizations: ['org_acme'], groups: ['admins'] },
            ],
          },
        ]),
      ),
    ).toEqual([
      'routes[0] (r0).allow[0] names groups without organizations: every organization’s ' +
        'identity provider decides its own groups, so the set admits a group of that name from ' +
        'any organization (add "organizations": ["org_…"] to the set)',
      'routes[0] (r0).allow[1] names roles without organizations: every organization’s ' +
        'identity provider decides its own roles, so the set admits a role of that name from ' +
        'any organization (add "organizations": ["org_…"] to the set)',
      'routes[0] (r0).allow[2] names roles and groups without organizations: every ' +
        'organization’s identity provider decides its own roles and groups, so the set admits ' +
        'a role or group of that name from any organization (add "organizations": ["org_…"] to ' +
        'the set)',
    ])
  })

  it('a deny set is left alone: refusing a group from every organization opens nothing', () => {
    expect(lintAccess(compile([{ deny: [{ groups: ['contractors'] }] }]))).toEqual([])
  })

  it('stays quiet when the set names its organizations', () => {
    expect(
      lintAccess(
        compile([
          { allow: [{ organizations: ['org_a', 'org_b'], roles: ['admin'], groups: ['x'] }] },
        ]),
      ),
    ).toEqual([])
  })
})
