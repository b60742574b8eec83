import { describe, expect, it } from 'vitest'
import { decide, matchRoute } from '../src/access/decide.ts'
import { compilePublicPaths, forwardAuthRoute } from '../src/access/public-paths.ts'
import { requestFacts } from '../src/access/facts.ts'
import type { Principal } from '../src/access/types.ts'

// Without ACCESS, PUBLIC_PATHS compiles into the policy the one gate decides with: a public route
// per entry, then one for any signed-in person. Its entries keep their own contract (README
// `PUBLIC_PATHS`), unlike ACCESS paths: exact, or a plain string prefix for an entry ending in
// `*`, in the case written, and never a path with an ambiguous encoding.

const AUDIENCE = 'https://origin.example'
const policy = compilePublicPaths(['/status', '/assets/*', '/api*'], AUDIENCE)
const routed = (path: string) =>
  matchRoute(policy, { host: 'gateway.test', path, method: 'GET' })?.name

describe('PUBLIC_PATHS compiled', () => {
  it.each(['/status', '/assets/app.css', '/assets/', '/api', '/api-docs', '/api/v1/x'])(
    '%s is public',
    (path) => expect(routed(path)).toBe('public-path'),
  )

  it.each([
    '/status/',
    '/statusx',
    '/Status',
    '/assets',
    '/Assets/app.css',
    '/ap',
    '/assets/..%2Fadmin',
    '/assets/%2e%2e/admin',
    '/assets/..;/admin',
    '/assets/%252e%252e/admin',
    '/assets/%u002e%u002e/admin',
    '/assets/..\\admin',
  ])('%s needs a session (the signed-in route)', (path) => expect(routed(path)).toBe('signed-in'))

  it('the signed-in route admits any person and carries the one audience; nobody signs in to a public one', () => {
    const facts = requestFacts({ host: 'gateway.test', path: '/x', method: 'GET' }, '', undefined)
    const person: Principal = {
      kind: 'person',
      email: 'ann@example.com',
      userId: 'user_1',
      signedInAt: 0,
      authMethod: 'code',
    }
    const signedIn = forwardAuthRoute(policy)
    expect(signedIn).toMatchObject({ name: 'signed-in', public: false, audience: AUDIENCE })
    expect(decide(signedIn, facts, person).outcome).toBe('allow')
    expect(decide(signedIn, facts, null).outcome).toBe('sign_in')
    expect(decide(signedIn, facts, { kind: 'service', id: 'st_1', name: 'bot' }).outcome).toBe(
      'deny',
    )
    expect(policy.routes[0]).toMatchObject({ public: true, assertion: false })
    expect(decide(policy.routes[0]!, facts, null).outcome).toBe('allow')
    expect(policy.source).toBe('PUBLIC_PATHS')
  })

  it('no entries: every request is the signed-in route’s', () => {
    const none = compilePublicPaths([], AUDIENCE)
    expect(none.routes).toHaveLength(1)
    expect(matchRoute(none, { host: 'a.test', path: '/', method: 'POST' })?.name).toBe('signed-in')
  })
})
