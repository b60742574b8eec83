import { describe, expect, it } from 'vitest'
import { lintAccess } from '../src/access/index.ts'
import { compile, oneRoute, problems } from './compile-access'

// The `launcher` field of an ACCESS route as an operator writes it: what each form means, and a
// clear problem, naming the route and the field, for one the launcher could never honour.

const launcherOf = (route: Record<string, unknown>) => compile(oneRoute(route)).routes[0]!.launcher

describe('the launcher field', () => {
  it('left out: a route is listed under its name, a public one is not', () => {
    expect(launcherOf({ path: '/grafana/*' })).toEqual({ title: 'r', url: undefined })
    expect(launcherOf({ path: '/status', public: true })).toBeUndefined()
  })

  it('left out: a route that could never be opened from the launcher is simply not listed', () => {
    expect(launcherOf({ methods: ['POST'] })).toBeUndefined()
    expect(launcherOf({ host: '*.example.com' })).toBeUndefined()
  })

  it('false hides a route; true lists a public one', () => {
    expect(launcherOf({ launcher: false })).toBeUndefined()
    expect(launcherOf({ public: true, launcher: true })).toEqual({ title: 'r', url: undefined })
  })

  it('an object gives the name people see and the URL to open (a public route opts in with it)', () => {
    expect(launcherOf({ path: '/grafana/*', launcher: { title: '  Grafana  ' } })).toEqual({
      title: 'Grafana',
      url: undefined,
    })
    expect(launcherOf({ public: true, path: '/docs/*', launcher: { url: '/docs/start' } })).toEqual(
      { title: 'r', url: '/docs/start' },
    )
    expect(
      launcherOf({
        host: '*.example.com',
        launcher: { title: 'Tenants', url: 'https://acme.example.com/home' },
      }),
    ).toEqual({ title: 'Tenants', url: 'https://acme.example.com/home' })
  })

  it('refuses what is neither true, false nor an object, naming the route and the field', () => {
    expect(problems(oneRoute({ launcher: 'yes' }))).toEqual([
      'routes[0] (r).launcher: must be true, false or {"title", "url"}',
    ])
  })

  it('refuses an unknown key, suggesting the one meant', () => {
    expect(problems(oneRoute({ launcher: { titel: 'Grafana' } }))).toEqual([
      'routes[0] (r).launcher.titel: unknown field (did you mean "title"?)',
    ])
  })

  it('refuses an empty or overlong title, or one with control characters', () => {
    for (const title of ['', '   ', 'x'.repeat(81), 'a\nb', 42])
      expect(problems(oneRoute({ launcher: { title } }))).toEqual([
        'routes[0] (r).launcher.title: must be 1 to 80 characters, no control characters',
      ])
  })

  it('names every problem of a launcher at once', () => {
    expect(problems(oneRoute({ launcher: { title: '', url: '/x?y' } }))).toHaveLength(2)
  })

  it('refuses a URL the route would not take, or that is not plain', () => {
    const urlProblem = (route: Record<string, unknown>) => problems(oneRoute(route))[0]
    expect(urlProblem({ path: '/grafana/*', launcher: { url: '/other/' } })).toBe(
      'routes[0] (r).launcher.url: must be a path the route takes',
    )
    expect(urlProblem({ host: 'a.example.com', launcher: { url: 'https://b.example.com/' } })).toBe(
      'routes[0] (r).launcher.url: must be on a host the route takes (a.example.com)',
    )
    for (const url of ['/x?tab=1', '/x#top', 'javascript:alert(1)', 'ftp://a.example.com/', 42])
      expect(urlProblem({ launcher: { url } })).toBe(
        'routes[0] (r).launcher.url: must be a path such as /grafana/ or an http(s) URL, ' +
          'without a query or fragment',
      )
    for (const url of ['/a/../b', '/a//b', '/auth/apps', '/a;b'])
      expect(urlProblem({ launcher: { url } })).toBe(
        'routes[0] (r).launcher.url: must have a plain path (no dot segments, "//", ";" or odd ' +
          'escapes) outside /auth/',
      )
  })

  it('refuses a listing the launcher could never honour', () => {
    expect(problems(oneRoute({ methods: ['POST'], launcher: true }))).toEqual([
      'routes[0] (r).launcher: the route does not take GET, so the launcher could never open it',
    ])
    expect(problems(oneRoute({ host: '*.example.com', launcher: { title: 'T' } }))).toEqual([
      'routes[0] (r).launcher: a route on *.example.com needs "url": an absolute URL on one host',
    ])
    expect(problems(oneRoute({ host: '*.example.com', launcher: { url: '/' } }))[0]).toBe(
      'routes[0] (r).launcher.url: must be an absolute URL on one host of *.example.com',
    )
  })
})

describe('lint', () => {
  it('warns when a route’s entry URL is decided by an earlier route', () => {
    const access = compile({
      routes: [
        { name: 'index', path: '/reports/' },
        { name: 'reports', path: '/reports/*' },
        { name: 'app', path: '/*' },
      ],
    })
    expect(lintAccess(access)).toEqual([
      'routes[1] (reports) is not in the app launcher: a GET of its entry URL (/reports/) is ' +
        'decided by routes[0] (index) (move it up, or give it "launcher": {"url": …})',
    ])
  })

  it('says nothing of a route on its own host, or one whose launcher URL is its own', () => {
    const access = compile({
      routes: [
        { name: 'admin', host: 'admin.example.com' },
        { name: 'index', path: '/reports/' },
        { name: 'reports', path: '/reports/*', launcher: { url: '/reports/all' } },
        { name: 'app', path: '/*' },
      ],
    })
    expect(lintAccess(access)).toEqual([])
  })
})
