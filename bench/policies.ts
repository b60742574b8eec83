// ACCESS policies the bench runs the gateway with: plain data, shared by the Node side (run.ts,
// which also checks them with compileAccess) and the in-isolate bench Worker.

/**
 * 50 routes whose last one serves /bench: the worst case for matching (every route is tried).
 * The others mix hosts, prefixes, methods and conditions of every kind, as a real policy would.
 */
export function fiftyRoutes() {
  const routes: Record<string, unknown>[] = []
  for (let i = 0; i < 49; i++) {
    const kind = i % 5
    routes.push({
      name: `app-${i}`,
      ...(kind === 0 && { host: `app${i}.example.com` }),
      path: `/app-${i}/*`,
      ...(kind === 1 && { methods: ['GET', 'POST'] }),
      allow: [
        kind === 2
          ? { ips: ['203.0.113.0/24', '2001:db8::/32'] }
          : kind === 3
            ? { emails: [`person${i}@example.com`, `other${i}@example.com`] }
            : { domains: ['example.com', '*.example.org'] },
      ],
      ...(kind === 4 && { deny: [{ countries: ['XX'] }] }),
    })
  }
  routes.push({
    name: 'bench',
    path: '/bench',
    allow: [{ domains: ['example.com'] }],
    deny: [{ emails: ['blocked@example.com'] }],
  })
  return { routes }
}

/** The service binding the small policy's /svc route uses (a stand-in in the bench Worker). */
export const BENCH_SERVICE_BINDING = 'BENCH_SERVICE'
/** The service token name and the SSO group the small policy allows. */
export const BENCH_TOKEN_NAME = 'bench-bot'
export const BENCH_GROUP = 'engineering'

/**
 * Three routes: /svc to a service binding, /strict checked with the revocation authority on every
 * request, and /bench for a service token, an SSO group or a domain, in that order (a token
 * matches the first set, an SSO person the second).
 */
export function smallPolicy() {
  return {
    routes: [
      {
        name: 'svc',
        path: '/svc',
        service: BENCH_SERVICE_BINDING,
        allow: [{ domains: ['example.com'] }],
      },
      {
        name: 'strict',
        path: '/strict',
        revocation: 'strict',
        allow: [{ domains: ['example.com'] }],
      },
      {
        name: 'bench',
        path: '/bench',
        allow: [
          { serviceTokens: [BENCH_TOKEN_NAME] },
          { groups: [BENCH_GROUP] },
          { domains: ['example.com'] },
        ],
      },
    ],
  }
}

export const POLICIES = { fifty: fiftyRoutes, small: smallPolicy } as const
export type PolicyName = keyof typeof POLICIES
