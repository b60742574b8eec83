import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { compileAccess } from '../src/access/index.ts'
import worker from '../src/index'
import { sessionFor, sessionKvKeyOf, uniqueEmail } from './helpers'

// The launcher and the gate cannot drift apart: for random ACCESS policies, people (their email,
// organization, groups, roles, second factor, sign-in age and method) and clients (address,
// country), the launcher lists a route exactly when a GET of its entry URL, sent through the
// gateway with the same cookie from the same client, reaches that route's origin. The entry URL
// and who opted in are worked out here from the policy as written, not by the launcher's code.

const suffix = Math.random().toString(36).slice(2, 8)
const PEOPLE = [
  uniqueEmail('ada'),
  `bob-${suffix}@eu.example.com`,
  `eve-${suffix}@evil.test`,
] as const
const cookies: string[] = []

beforeAll(async () => {
  for (const email of PEOPLE) cookies.push(await sessionFor(email))
})

// ---- policies ----------------------------------------------------------------------------------

const some = <T>(values: readonly T[]) =>
  fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 2 })

// One to three keys per set, so that sets match often enough to be interesting.
function sparse(values: Record<string, fc.Arbitrary<unknown>>) {
  const keys = Object.keys(values)
  return fc
    .tuple(
      fc.record(values),
      fc.uniqueArray(fc.constantFrom(...keys), { minLength: 1, maxLength: 3 }),
    )
    .map(([all, picked]) => Object.fromEntries(picked.map((key) => [key, all[key]])))
}

const conditionSet = fc.oneof(
  {
    weight: 6,
    arbitrary: sparse({
      everyone: fc.constant(true),
      emails: some(PEOPLE),
      domains: some(['example.com', '*.example.com', 'evil.test']),
      ips: some(['203.0.113.0/24', '2001:db8:1::/48']),
      countries: some(['DE', 'FR']),
      methods: some(['GET', 'POST']),
      organizations: some(['org_a', 'org_b']),
      roles: some(['admin', 'viewer']),
      groups: some(['eng', 'ops']),
      authMethods: some(['code', 'link']),
      mfa: fc.constant(true),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ serviceTokens: ['ci-bot'] }) },
)

const sometimes = <T>(arbitrary: fc.Arbitrary<T>, absent = 2) =>
  fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary })

type Launcher = undefined | boolean | { title?: string; url?: 'give' }

interface RouteShape {
  host: string | undefined
  path: string
  methods: string[] | undefined
  public: boolean | undefined
  allow: object[] | undefined
  deny: object[] | undefined
  maxSignInAge: number | undefined
  revocation: 'strict' | undefined
  launcher: Launcher
}

const routeShape: fc.Arbitrary<RouteShape> = fc.record({
  host: sometimes(fc.constantFrom('app.gateway.test', '*.gateway.test'), 3),
  path: fc.constantFrom('/*', '/api/*', '/api', '/x/*', '/X/', '/api/v1/*'),
  methods: sometimes(some(['GET', 'POST']), 4),
  public: sometimes(fc.constant(true), 4),
  allow: sometimes(fc.array(conditionSet, { minLength: 1, maxLength: 2 }), 1),
  deny: sometimes(fc.array(conditionSet, { minLength: 1, maxLength: 2 })),
  maxSignInAge: sometimes(fc.constantFrom(60, 3600)),
  revocation: sometimes(fc.constant('strict' as const), 5),
  launcher: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constant({ title: 'Named' }) },
    { weight: 1, arbitrary: fc.constant({ url: 'give' as const }) },
  ),
})

/** A path the pattern takes, as an operator would pick for `launcher.url`. */
const pathInside = (pattern: string) =>
  pattern.endsWith('/*') ? `${pattern.slice(0, -1)}home` : pattern

/** The policy as an operator writes it, with what the test needs to know of each route. */
function policyDocument(shapes: RouteShape[]) {
  return {
    routes: shapes.map((shape, i) => {
      const route: Record<string, unknown> = { name: `route-${i}`, path: shape.path }
      if (shape.host) route.host = shape.host
      if (shape.methods) route.methods = shape.methods
      if (shape.public) route.public = true
      else {
        if (shape.allow) route.allow = shape.allow
        if (shape.deny) route.deny = shape.deny
        if (shape.maxSignInAge) route.maxSignInAge = shape.maxSignInAge
        if (shape.revocation) route.revocation = shape.revocation
      }
      const launcher = shape.launcher
      if (typeof launcher === 'object' && launcher.url === 'give') {
        const path = pathInside(shape.path)
        // A route on *.gateway.test names one of its hosts; others sometimes do too.
        const url =
          shape.host?.startsWith('*.') || i % 2 === 1
            ? `https://${shape.host?.replace('*', 'tenant') ?? 'gateway.test'}${path}`
            : path
        route.launcher = { url }
      } else if (launcher !== undefined) route.launcher = launcher
      return route
    }),
  }
}

/**
 * Where the route is opened and whether it asked to be listed, from the policy as written: its
 * `launcher.url` (a path is on the launcher's host, or the route's own), else its exact host (or
 * the launcher's) and its path's literal part; a route on `*.` names no host.
 */
function entryOf(route: Record<string, unknown>, launcherHost: string): string | undefined {
  const launcher = route.launcher as undefined | boolean | { url?: string }
  if (launcher === false) return undefined
  if (route.public && launcher === undefined) return undefined
  const host = route.host as string | undefined
  const given = typeof launcher === 'object' ? launcher.url : undefined
  if (given?.startsWith('https://')) return given
  if (host?.startsWith('*.')) return undefined
  const pattern = route.path as string
  const path = given ?? (pattern.endsWith('/*') ? pattern.slice(0, -1) : pattern)
  return `https://${host ?? launcherHost}${path}`
}

// ---- people and clients ---------------------------------------------------------------------

const person = fc.record({
  index: fc.nat(PEOPLE.length - 1),
  organizationId: fc.constantFrom(undefined, 'org_a', 'org_b'),
  groups: fc.subarray(['eng', 'ops']),
  roles: fc.subarray(['admin', 'viewer']),
  mfa: fc.boolean(),
  // Far from every maxSignInAge above, so the seconds between two requests cannot matter.
  signedInAgo: fc.constantFrom(5_000, 600_000, 7_200_000),
  method: fc.constantFrom('magic_link', 'magic_auth'),
})

const client = fc.record({
  ip: fc.constantFrom('203.0.113.7', '198.51.100.9', '2001:db8:1::5'),
  country: fc.constantFrom(undefined, 'DE', 'FR'),
  launcherHost: fc.constantFrom('gateway.test', 'app.gateway.test'),
})

async function call(
  url: string,
  cookie: string,
  access: string,
  { ip, country }: { ip: string; country: string | undefined },
) {
  const ctx = createExecutionContext()
  const request = new Request(url, {
    redirect: 'manual',
    headers: { cookie, accept: 'application/json', 'cf-connecting-ip': ip },
    ...(country && { cf: { country } }),
  })
  const response = await worker.fetch(request, { ...env, ACCESS: access } as Env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

describe('the launcher and the gate', () => {
  it('a route is listed exactly when a GET of its entry URL reaches it', async () => {
    let listedSome = 0
    let refusedSome = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(routeShape, { minLength: 1, maxLength: 5 }),
        person,
        client,
        async (shapes, who, from) => {
          const document = policyDocument(shapes)
          // Listings the launcher could never honour are compile problems (launcher-compile).
          fc.pre(compileAccess(document).ok)
          const access = JSON.stringify(document)
          const cookie = cookies[who.index]!
          const key = await sessionKvKeyOf(cookie)
          const record = JSON.parse((await env.SESSIONS.get(key, 'text'))!) as object
          await env.SESSIONS.put(
            key,
            JSON.stringify({
              ...record,
              organizationId: who.organizationId,
              groups: who.organizationId ? who.groups : undefined,
              roles: who.organizationId ? who.roles : undefined,
              mfaAt: who.mfa ? Date.now() : undefined,
              createdAt: Date.now() - who.signedInAgo,
              method: who.method,
            }),
            { expirationTtl: 3600 },
          )

          const expected: { route: string; url: string }[] = []
          for (const route of document.routes) {
            const url = entryOf(route, from.launcherHost)
            if (url === undefined) continue
            const opened = await call(url, cookie, access, from)
            const reached =
              opened.status === 200 &&
              opened.headers.get('x-origin') === 'demo' &&
              ((await opened.json()) as { headers: Record<string, string> }).headers[
                'x-auth-route'
              ] === route.name
            if (reached) expected.push({ route: route.name as string, url })
            else refusedSome++
          }

          const launcher = await call(
            `https://${from.launcherHost}/auth/apps`,
            cookie,
            access,
            from,
          )
          expect(launcher.status).toBe(200)
          const { apps } = (await launcher.json()) as { apps: { route: string; url: string }[] }
          expect(apps.map(({ route, url }) => ({ route, url }))).toEqual(expected)
          listedSome += expected.length
        },
      ),
      { numRuns: 100 },
    )
    // The runs decided both ways, or the property says little.
    expect(listedSome).toBeGreaterThan(10)
    expect(refusedSome).toBeGreaterThan(10)
  })
})
