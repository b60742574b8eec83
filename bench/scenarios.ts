// The in-isolate bench's scenarios: plain data, read by the bench Worker (isolate-worker.ts),
// which runs them, and by the Node side (isolate.ts), which times and reports them.
import type { PolicyName } from './policies.ts'

/** Where the bench Worker's gateway thinks it lives, and its in-memory origin. */
export const BENCH_PUBLIC_URL = 'https://gateway.bench.example'
export const BENCH_ORIGIN_URL = 'http://origin.bench.internal'

/**
 * LOG_REQUESTS for the run; `all-muted` is `all` with console.log replaced by a sink inside the
 * bench Worker: the gateway builds and encodes every line, but wrangler dev's inspector does not
 * carry it, which is the part of a line's cost that is the gateway's own.
 */
export type LogSetting = 'errors' | 'auth' | 'all' | 'all-muted'
export const LOG_SETTINGS: readonly LogSetting[] = ['errors', 'auth', 'all', 'all-muted']

/**
 * Who sends the request, with the headers such a client sends through Cloudflare's edge:
 * - person / sso: a browser navigation carrying the session cookie (Magic Auth, or SSO with
 *   groups) among two of the application's own cookies;
 * - token: a machine with Gateway-Client-Id and Gateway-Client-Secret;
 * - bearer: a command line or AI agent with the person's OAuth access token (`Authorization:
 *   Bearer gwat_…`, no cookie), whose resource is the route's (PUBLIC_URL's origin + `/`);
 * - anonymous-api / anonymous-browser: no credentials, asking for JSON or for a page.
 */
export type CallerKind =
  'person' | 'sso' | 'token' | 'bearer' | 'anonymous-api' | 'anonymous-browser'

export interface Scenario {
  key: string
  label: string
  /** bare: bench/passthrough/worker.js; gateway: src/index.ts's default export. */
  handler: 'bare' | 'gateway'
  caller: CallerKind
  path: string
  /** The status every answer must have, or the run is refused as measuring something else. */
  expect: number
  /** Whether every answer must have reached the origin carrying X-Auth-User. */
  identified: boolean
  policy?: PolicyName
  /** SESSION_CACHE_SECONDS; unset: the gateway's default. */
  cacheSeconds?: number
  /** The LOG_REQUESTS settings to run it with (the bare handler has none). */
  logs: readonly LogSetting[]
}

export const SCENARIOS: readonly Scenario[] = [
  {
    key: 'bare',
    label: 'bare pass-through handler',
    handler: 'bare',
    caller: 'person',
    path: '/bench',
    expect: 200,
    identified: false,
    logs: [],
  },
  {
    key: 'signed-in',
    label: 'signed in (session cached), proxied',
    handler: 'gateway',
    caller: 'person',
    path: '/bench',
    expect: 200,
    identified: true,
    logs: ['errors', 'auth', 'all', 'all-muted'],
  },
  {
    // The signed-in scenario's path and policy, so the two compare directly.
    key: 'bearer',
    label: 'signed in with an OAuth access token (token cached), proxied',
    handler: 'gateway',
    caller: 'bearer',
    path: '/bench',
    expect: 200,
    identified: true,
    logs: ['errors'],
  },
  {
    key: 'signed-in-kv-read',
    label: 'signed in, SESSION_CACHE_SECONDS=0 (a local KV read each)',
    handler: 'gateway',
    caller: 'person',
    path: '/bench',
    expect: 200,
    identified: true,
    cacheSeconds: 0,
    logs: ['errors'],
  },
  {
    key: 'access-50',
    label: 'signed in, ACCESS of 50 routes (last matches)',
    handler: 'gateway',
    caller: 'person',
    path: '/bench',
    expect: 200,
    identified: true,
    policy: 'fifty',
    logs: ['errors', 'all'],
  },
  {
    key: 'service-token',
    label: 'service token (ACCESS of 2 routes)',
    handler: 'gateway',
    caller: 'token',
    path: '/bench',
    expect: 200,
    identified: true,
    policy: 'small',
    logs: ['errors', 'all'],
  },
  {
    key: 'sso-groups',
    label: 'SSO session with 8 groups (route allows a group)',
    handler: 'gateway',
    caller: 'sso',
    path: '/bench',
    expect: 200,
    identified: true,
    policy: 'small',
    logs: ['errors', 'all'],
  },
  {
    key: 'service-binding',
    label: 'signed in, route to a service binding',
    handler: 'gateway',
    caller: 'person',
    path: '/svc',
    expect: 200,
    identified: true,
    policy: 'small',
    logs: ['errors'],
  },
  {
    key: 'strict-revocation',
    label: 'signed in, "revocation": "strict" (asks the authority each time)',
    handler: 'gateway',
    caller: 'person',
    path: '/strict',
    expect: 200,
    identified: true,
    policy: 'small',
    logs: ['errors'],
  },
  {
    key: 'no-session-api',
    label: 'no session, API (401 JSON)',
    handler: 'gateway',
    caller: 'anonymous-api',
    path: '/bench',
    expect: 401,
    identified: false,
    logs: ['errors', 'auth', 'all'],
  },
  {
    key: 'no-session-browser',
    label: 'no session, browser (302 to sign-in)',
    handler: 'gateway',
    caller: 'anonymous-browser',
    path: '/bench',
    expect: 302,
    identified: false,
    logs: ['errors', 'auth', 'all'],
  },
]

/** One measured combination: a scenario with one logging setting (the bare handler has none). */
export interface Run {
  id: string
  scenario: Scenario
  log: LogSetting | undefined
}

export const RUNS: readonly Run[] = SCENARIOS.flatMap((scenario): Run[] =>
  scenario.logs.length === 0
    ? [{ id: scenario.key, scenario, log: undefined }]
    : scenario.logs.map((log) => ({ id: `${scenario.key}/${log}`, scenario, log })),
)
