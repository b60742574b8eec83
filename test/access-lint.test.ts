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
