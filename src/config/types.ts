import type { CompiledAccess } from '../access/index.ts'
import type { SignInMethod } from '../sign-in/methods'

/**
 * The gateway's settings, parsed once per `env` object (so once per isolate) and frozen.
 * Every problem is gathered and reported together, each naming the variable and never its value.
 */
export interface Config {
  readonly workosApiKey: string
  readonly workosClientId: string
  /** Where the SDK sends its calls; `undefined` means the real api.workos.com. */
  readonly workosApi: { hostname: string; port?: number; https: boolean } | undefined
  /** First signs, all verify. */
  readonly sessionSecrets: readonly string[]
  readonly originUrl: URL
  /** The absolute lifetime of a session. */
  readonly sessionTtlSeconds: number
  /** A session unused this long ends; used after half of it, it is renewed (sliding refresh). */
  readonly sessionIdleSeconds: number
  /** How long an isolate may reuse a session it read (0: every request reads KV). */
  readonly sessionCacheSeconds: number
  readonly emailDelivery: 'workos' | 'custom'
  readonly email: { apiUrl: string; apiKey: string; from: string } | undefined
  /**
   * SIGN_IN_HOST: the one host where people sign in; every other host gets its session through a
   * handoff (src/handoff/). Undefined: every host signs in on its own.
   */
  readonly signInHost: string | undefined
  /** Hosts a session may be handed to: ALLOWED_HOSTS and the exact hosts ACCESS names. */
  readonly handoffHosts: ReadonlySet<string>
  /** ACCESS compiled once per isolate; undefined: any signed-in person, PUBLIC_PATHS public. */
  readonly access: CompiledAccess | undefined
  /** What the gate decides with: ACCESS, else PUBLIC_PATHS compiled in its place. */
  readonly policy: CompiledAccess
  readonly publicUrl: string | undefined
  readonly devMode: boolean
  readonly productName: string
  /** The pages' accent colour, a CSS hex colour. */
  readonly accentColor: string
  /** Offered on the login page, in this order; the first is the main button. */
  readonly signInMethods: readonly SignInMethod[]
  /** Lowercased; empty means any domain (unless allowedEmails is set). */
  readonly allowedEmailDomains: readonly string[]
  /** Lowercased whole addresses allowed besides the domains. */
  readonly allowedEmails: readonly string[]
  /** Private JWKs (ES256) for X-Auth-Assertion: the first signs, all are published. */
  readonly assertionKeys: readonly JsonWebKey[]
  /**
   * The assertion's `aud` without ACCESS: ASSERTION_AUDIENCE, else the origin's own origin. With
   * ACCESS each route has its own (routeAudience).
   */
  readonly assertionAudience: string
  /**
   * `all`: one log line per request; `auth` (the default): every answer the gateway makes itself
   * and every answer of 400 and above, but not the origin's successful answers nor the polled
   * endpoints (health, stylesheet, JWKS, a forward-auth pass); `errors`: only 400 and above.
   */
  readonly logRequests: 'all' | 'auth' | 'errors'
  /**
   * How old, in seconds, an isolate's view of the revocation authority may be before a request
   * waits for a fresh one: an end anywhere is enforced everywhere within it.
   */
  readonly revocationBoundSeconds: number
  /** How long an OAuth access token lives (src/oauth/tokens.ts), at most an hour. */
  readonly oauthAccessTokenSeconds: number
  /**
   * The WorkOS organization whose audit log receives events without an organization of their own
   * (src/audit/). Unset: those go to the log line only.
   */
  readonly auditOrganizationId: string | undefined
  /** How often an open WebSocket's session or token is read again (past every cache). */
  readonly websocketRecheckSeconds: number
  /** How long one WorkOS call may take before the person is told to try again. */
  readonly workosTimeoutMs: number
  /** Bearer token for the admin API (src/admin/); undefined turns the whole API off (404). */
  readonly adminToken: string | undefined
  /** A proxy that sends this in X-Forward-Auth-Token gets the assertion from /auth/verify. */
  readonly forwardAuthToken: string | undefined
  /** WORKOS_WEBHOOK_SECRET; undefined turns the webhook endpoint off. */
  readonly webhookSecret: string | undefined
}
