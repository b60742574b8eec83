// Without ACCESS the gateway fronts ORIGIN_URL alone: PUBLIC_PATHS are public and anyone who can
// sign in may use the rest (README "Who may reach what"). That contract compiles into the same
// CompiledAccess as ACCESS, so one gate decides both: a public route per entry, then one route
// for any signed-in person. Where the two contracts differ is listed at CompiledAccess.source.
import type { CompiledAccess, CompiledRoute } from './types.ts'
import type { PathPattern } from './paths.ts'

/**
 * PUBLIC_PATHS, comma-separated, as compilePublicPaths takes it, with what is wrong with it: an
 * entry must start with "/" and must not cover the gateway's own /auth/.
 */
export function parsePublicPaths(value: string | undefined): {
  entries: readonly string[]
  problems: readonly string[]
} {
  const all = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
  const covering = (entry: string) =>
    !entry.startsWith('/') || entry.startsWith('/auth/') || entry === '/auth*'
  const entries = Object.freeze(all.filter((entry) => !covering(entry)))
  const problems = all
    .filter(covering)
    .map(() => 'each entry must start with "/" and must not cover /auth/')
  return { entries, problems }
}

/**
 * `entries` as PUBLIC_PATHS lists them, already checked (src/config/access.ts): each starts with
 * "/", and one ending in `*` is a prefix. `audience` is the assertion's `aud` for the signed-in
 * route: ASSERTION_AUDIENCE, else ORIGIN_URL's origin.
 */
export function compilePublicPaths(entries: readonly string[], audience: string): CompiledAccess {
  const routes = entries.map((entry, index) =>
    publicPathRoute(index, entry, {
      kind: 'public-path',
      path: entry.endsWith('*') ? entry.slice(0, -1) : entry,
      prefix: entry.endsWith('*'),
    }),
  )
  routes.push(signedInRoute(entries.length, audience))
  return Object.freeze({
    routes: Object.freeze(routes),
    hosts: Object.freeze([]),
    services: Object.freeze([]),
    source: 'PUBLIC_PATHS',
  })
}

/**
 * The route forward-auth decides every request with under PUBLIC_PATHS (CompiledAccess.source):
 * the last, for any signed-in person.
 */
export function forwardAuthRoute(policy: CompiledAccess): CompiledRoute {
  return policy.routes[policy.routes.length - 1]!
}

const ANY_HOST = Object.freeze({ kind: 'any' as const })
const NO_SETS = Object.freeze([])

function publicPathRoute(index: number, entry: string, path: PathPattern): CompiledRoute {
  return Object.freeze({
    ...COMMON,
    index,
    name: 'public-path',
    label: `PUBLIC_PATHS[${index}]`,
    path: Object.freeze(path),
    pathText: entry,
    public: true,
    oauth: false,
    // Nobody in particular: the session is not even read (CompiledAccess.source).
    assertion: false,
    audience: undefined,
  })
}

function signedInRoute(index: number, audience: string): CompiledRoute {
  return Object.freeze({
    ...COMMON,
    index,
    name: 'signed-in',
    label: 'the rest (any signed-in person)',
    path: Object.freeze({ kind: 'all' as const }),
    pathText: '/*',
    public: false,
    oauth: true,
    assertion: true,
    audience,
    // The one application the gateway fronts: the launcher names it PRODUCT_NAME.
    launcher: Object.freeze({ title: undefined, url: undefined }),
  })
}

const COMMON = {
  host: ANY_HOST,
  hostText: '*',
  methods: undefined,
  target: Object.freeze({ kind: 'default' as const }),
  audiencePath: '',
  allow: undefined,
  deny: NO_SETS,
  maxSignInAge: undefined,
  cors: undefined,
  websockets: true,
  strictRevocation: false,
} as const
