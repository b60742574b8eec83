// The shapes the access policy is compiled into and decided with. Everything here is plain data
// (no Hono, no Workers types) so the operator's check tool runs the Worker's own decision code.
import type { IpRange } from './ip.ts'
import type { HostPattern, PathPattern } from './paths.ts'
import type { SignInMethod } from '../sign-in/methods.ts'

/** A sign-in method's id, as `authMethods` names it (the registry: src/sign-in/methods.ts). */
export type AuthMethod = SignInMethod

export const CONDITION_KEYS = [
  'everyone',
  'emails',
  'domains',
  'ips',
  'countries',
  'methods',
  'serviceTokens',
  'organizations',
  'roles',
  'groups',
  'authMethods',
  'mfa',
] as const

export type ConditionKey = (typeof CONDITION_KEYS)[number]

/** One entry of a route's `allow` or `deny`: every key present must match. */
export interface ConditionSet {
  /** `allow[1]`, `deny[0]`: how the check tool and the logs name it (never shown to users). */
  readonly label: string
  /** The keys present, in CONDITION_KEYS order. */
  readonly keys: readonly ConditionKey[]
  readonly everyone: boolean
  /** Lowercased addresses. */
  readonly emails: ReadonlySet<string> | undefined
  /** `example.com` → exact `example.com`; `*.example.com` → exact `example.com` and suffix `.example.com`. */
  readonly domains:
    { readonly exact: ReadonlySet<string>; readonly suffixes: readonly string[] } | undefined
  readonly ips: readonly IpRange[] | undefined
  /** Uppercased ISO codes. */
  readonly countries: ReadonlySet<string> | undefined
  readonly methods: ReadonlySet<string> | undefined
  /** `any` for `*`. */
  readonly serviceTokens: { readonly any: boolean; readonly names: ReadonlySet<string> } | undefined
  readonly organizations: ReadonlySet<string> | undefined
  readonly roles: ReadonlySet<string> | undefined
  readonly groups: ReadonlySet<string> | undefined
  readonly authMethods: ReadonlySet<AuthMethod> | undefined
  readonly mfa: boolean
}

/** Where an allowed request goes. */
export type Target =
  /** The gateway's ORIGIN_URL. */
  | { readonly kind: 'default' }
  /** `origin` + `pathPrefix` + the request's pathname and search. `pathPrefix` is '' or `/v1` (no trailing slash). */
  | { readonly kind: 'origin'; readonly origin: string; readonly pathPrefix: string }
  /** A service binding (checked against `env` by the Worker, not here). */
  | { readonly kind: 'service'; readonly binding: string }

export interface CorsPolicy {
  /** Exact origins as browsers send them (`https://app.example.com`, default port omitted). */
  readonly origins: ReadonlySet<string>
  /** Default GET, HEAD, POST. */
  readonly methods: readonly string[]
  /** Lowercased request header names; default none. */
  readonly headers: readonly string[]
  readonly credentials: boolean
  /** Seconds, 0..86400; default 600. */
  readonly maxAge: number
  /** `methods` and `headers` joined once for the response headers ('' when there are none). */
  readonly allowMethods: string
  readonly allowHeaders: string
}

export interface CompiledRoute {
  readonly index: number
  readonly name: string
  /** `routes[2] (admin)`. */
  readonly label: string
  readonly host: HostPattern
  readonly path: PathPattern
  /** As written, for messages: `admin.example.com`, `/api/*` (host `*` when absent). */
  readonly hostText: string
  readonly pathText: string
  /** Undefined: any method. */
  readonly methods: ReadonlySet<string> | undefined
  readonly target: Target
  readonly public: boolean
  /**
   * Whether an allowed request with a session or token carries X-Auth-Assertion: always on a
   * route that is not public, on a public one only with `"assertion": true`.
   */
  readonly assertion: boolean
  /**
   * The assertion's `aud` when it is the same for every request: the route's `audience`, else
   * `https://` + its exact host + audiencePath. Undefined: from the request's host (routeAudience).
   */
  readonly audience: string | undefined
  /** How the default audience ends: '' for `/*`, `/x` for `/x` and `/x/*`. */
  readonly audiencePath: string
  /** Undefined: any signed-in person (a service token is not a person). */
  readonly allow: readonly ConditionSet[] | undefined
  readonly deny: readonly ConditionSet[]
  /** Seconds. */
  readonly maxSignInAge: number | undefined
  readonly cors: CorsPolicy | undefined
  readonly websockets: boolean
  /**
   * `"revocation": "strict"`: every request asks the revocation authority (one subrequest), so an
   * end anywhere is refused on the very next request; otherwise within REVOCATION_BOUND_SECONDS.
   */
  readonly strictRevocation: boolean
  /** Whether the gateway's bearer tokens are taken (never on a public route). */
  readonly oauth: boolean
  /** How the app launcher (GET /auth/apps) lists the route; undefined: never listed. */
  readonly launcher?: LauncherEntry
}

/** A route as the app launcher offers it (src/launcher/), to whoever may `GET` its entry URL. */
export interface LauncherEntry {
  /** What the person sees; undefined: the gateway's one application (no ACCESS), PRODUCT_NAME. */
  readonly title: string | undefined
  /**
   * The entry URL the route gives (`launcher.url`): a path, on the route's exact host (else the
   * host people reach the gateway by), or an absolute http(s) URL. Undefined: derived from the
   * route's host and the literal part of its path (`/x/*` → `/x/`).
   */
  readonly url: string | undefined
}

export interface CompiledAccess {
  readonly routes: readonly CompiledRoute[]
  /** Exact hosts the routes name (for SIGN_IN_HOST and hand-off checks); wildcards excluded. */
  readonly hosts: readonly string[]
  /** Service binding names the routes use, for the Worker to check against `env`. */
  readonly services: readonly string[]
  /**
   * What the policy was written as. `PUBLIC_PATHS`: the gateway without ACCESS, compiled by
   * compilePublicPaths (public routes, then one for any signed-in person), which keeps that
   * setting's own contract where it differs from ACCESS: its routes are the gateway's, not the
   * operator's, so the origin gets no X-Auth-Route and logs name none; service tokens are not
   * read (the cookie decides); a path checkPath refuses is never public instead of `400 bad_path`;
   * a public path is passed on without reading the session; and forward-auth decides every
   * request as the signed-in route (the forwarded URI only chooses where to return: the proxy
   * need not set it, so a client could name a public path with it).
   */
  readonly source: 'ACCESS' | 'PUBLIC_PATHS'
}

export type CompileResult =
  | { readonly ok: true; readonly access: CompiledAccess }
  | { readonly ok: false; readonly problems: readonly string[] }

export interface RequestFacts {
  /** The request URL's host; normalised by matchRoute, so a raw `Host` value is fine. */
  readonly host: string
  /** The exact pathname the origin receives; must have passed checkPath. */
  readonly path: string
  /** Compared case-insensitively (workerd leaves e.g. `patch` as sent). */
  readonly method: string
  /** CF-Connecting-IP; '' when unknown (then no `ips` entry matches). */
  readonly ip: string
  /** request.cf.country; undefined (local dev) never matches `countries`. */
  readonly country: string | undefined
  /** Milliseconds since the epoch. */
  readonly now: number
}

export type Principal =
  | {
      readonly kind: 'person'
      readonly email: string
      readonly userId: string
      /** Milliseconds since the epoch. */
      readonly signedInAt: number
      readonly authMethod: AuthMethod
      readonly organizationId?: string
      readonly roles?: readonly string[]
      readonly groups?: readonly string[]
      readonly mfa?: boolean
    }
  | { readonly kind: 'service'; readonly id: string; readonly name: string }
  | null

export type Outcome = 'allow' | 'sign_in' | 'deny' | 'reauthenticate' | 'mfa_required'

/** One line of the check tool's explanation: `deny[0]: no match (countries)`. */
export interface RuleVerdict {
  readonly rule: string
  readonly matched: boolean
  readonly detail: string
}

export interface Decision {
  readonly outcome: Outcome
  /**
   * What decided, for logs: `public`, `signed-in` (no `allow`), `allow[1]`, `deny[0]`,
   * `maxSignInAge`, or for `mfa_required` the set that needs MFA; undefined for `sign_in` and for
   * a refusal because nothing in `allow` matched. Never shown to the person refused.
   */
  readonly rule: string | undefined
  /** Empty unless asked for with `{ explain: true }`. */
  readonly verdicts: readonly RuleVerdict[]
}

export type Evaluation =
  { readonly outcome: 'no_route' } | (Decision & { readonly route: CompiledRoute })

export interface DecideOptions {
  /** Build `verdicts` for every rule (the check tool); the Worker leaves this off. */
  readonly explain?: boolean
}
