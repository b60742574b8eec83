// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { compileAccess, type CompiledAccess } from './access/index.ts'

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
  readonly publicPaths: readonly PublicPath[]
  /**
   * SIGN_IN_HOST: the one host where people sign in; every other host gets its session through a
   * handoff (src/handoff/). Undefined: every host signs in on its own.
   */
  readonly signInHost: string | undefined
  /** Hosts a session may be handed to: ALLOWED_HOSTS and the exact hosts ACCESS names. */
  readonly handoffHosts: ReadonlySet<string>
  /** ACCESS compiled once per isolate; undefined: any signed-in person, PUBLIC_PATHS public. */
  readonly access: CompiledAccess | undefined
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
  /** How often an open WebSocket's session or token is read again (past every cache). */
  readonly websocketRecheckSeconds: number
  /** How long one WorkOS call may take before the person is told to try again. */
  readonly workosTimeoutMs: number
  /** Bearer token for the admin revocation endpoint; undefined turns the endpoint off. */
  readonly adminToken: string | undefined
  /** A proxy that sends this in X-Forward-Auth-Token gets the assertion from /auth/verify. */
  readonly forwardAuthToken: string | undefined
  /** WORKOS_WEBHOOK_SECRET; undefined turns the webhook endpoint off. */
  readonly webhookSecret: string | undefined
}

export type SignInMethod = 'code' | 'link' | 'sso'

export type PublicPath = { prefix: true; path: string } | { prefix: false; path: string }

export class ConfigError extends Error {
  constructor(readonly problems: readonly { variable: string; problem: string }[]) {
    super(`invalid configuration: ${problems.map((p) => p.variable).join(', ')}`)
    this.name = 'ConfigError'
  }
}

/** Credentials the emulator accepts; used only when DEV_MODE=true and nothing else is set. */
export const DEV_CREDENTIALS = {
  apiKey: 'sk_test_emulator',
  clientId: 'client_emulator',
  emailApiKey: 're_dev_emulator',
} as const

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0)

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })

const optionalText = z.optional(z.string())

// Raw shape: every value arrives as a string (or is absent). Semantic rules follow below.
const rawEnv = z.object({
  WORKOS_API_KEY: optionalText,
  WORKOS_CLIENT_ID: optionalText,
  WORKOS_API_URL: optionalText,
  SESSION_SECRET: optionalText,
  ORIGIN_URL: optionalText,
  SESSION_TTL_SECONDS: optionalText,
  EMAIL_DELIVERY: optionalText,
  EMAIL_API_URL: optionalText,
  EMAIL_API_KEY: optionalText,
  EMAIL_FROM: optionalText,
  PUBLIC_PATHS: optionalText,
  PUBLIC_URL: optionalText,
  DEV_MODE: optionalText,
  PRODUCT_NAME: optionalText,
  ACCENT_COLOR: optionalText,
  SIGN_IN_METHODS: optionalText,
  ALLOWED_EMAIL_DOMAINS: optionalText,
  ALLOWED_EMAILS: optionalText,
  SESSION_IDLE_TIMEOUT_SECONDS: optionalText,
  SESSION_CACHE_SECONDS: optionalText,
  ASSERTION_KEYS: optionalText,
  ASSERTION_AUDIENCE: optionalText,
  ADMIN_TOKEN: optionalText,
  WORKOS_WEBHOOK_SECRET: optionalText,
  FORWARD_AUTH_TOKEN: optionalText,
  WORKOS_TIMEOUT_MS: optionalText,
  LOG_REQUESTS: optionalText,
  WEBSOCKET_RECHECK_SECONDS: optionalText,
  SIGN_IN_HOST: optionalText,
  ALLOWED_HOSTS: optionalText,
  // A JSON string (--var, .dev.vars) or a TOML table from wrangler.toml (an object).
  ACCESS: z.optional(z.unknown()),
})

const RATE_LIMIT_BINDINGS = ['SEND_LIMIT_EMAIL', 'SEND_LIMIT_IP', 'VERIFY_LIMIT_IP'] as const

export function parseConfig(env: Record<string, unknown>): Config {
  const problems: { variable: string; problem: string }[] = []
  const fail = (variable: string, problem: string) => problems.push({ variable, problem })

  const raw = rawEnv.safeParse(env)
  if (!raw.success) {
    for (const issue of raw.error.issues) fail(String(issue.path[0]), 'must be a string')
    throw new ConfigError(problems)
  }
  const e = raw.data
  const devMode = e.DEV_MODE === 'true'

  const workosApiKey = e.WORKOS_API_KEY ?? (devMode ? DEV_CREDENTIALS.apiKey : '')
  if (!/^sk_(test|live)_[A-Za-z0-9_]+$/.test(workosApiKey))
    fail('WORKOS_API_KEY', 'must be set to an sk_test_… or sk_live_… key')

  const workosClientId = e.WORKOS_CLIENT_ID ?? (devMode ? DEV_CREDENTIALS.clientId : '')
  if (!/^client_[A-Za-z0-9_]+$/.test(workosClientId))
    fail('WORKOS_CLIENT_ID', 'must be set to a client_… id')

  let workosApi: Config['workosApi']
  if (e.WORKOS_API_URL !== undefined) {
    if (!httpUrl.safeParse(e.WORKOS_API_URL).success) {
      fail('WORKOS_API_URL', 'must be an http(s) URL with no path, e.g. http://127.0.0.1:4100')
    } else {
      const url = new URL(e.WORKOS_API_URL)
      const https = url.protocol === 'https:'
      workosApi = {
        hostname: url.hostname,
        https,
        ...(url.port ? { port: Number(url.port) } : {}),
      }
      if (url.pathname !== '/' || url.search)
        fail('WORKOS_API_URL', 'must not have a path or query (the SDK serves routes at the root)')
    }
  }

  const sessionSecrets = list(e.SESSION_SECRET)
  if (sessionSecrets.length === 0) fail('SESSION_SECRET', 'must be set')
  else if (sessionSecrets.some((secret) => secret.length < 32))
    fail('SESSION_SECRET', 'each comma-separated secret must be at least 32 characters')

  let originUrl = new URL('http://invalid.invalid')
  if (e.ORIGIN_URL === undefined || !httpUrl.safeParse(e.ORIGIN_URL).success)
    fail('ORIGIN_URL', 'must be set to the http(s) URL of the origin to protect')
  else originUrl = new URL(e.ORIGIN_URL)

  const sessionTtlSeconds = Number(e.SESSION_TTL_SECONDS ?? 604800)
  // KV refuses an expirationTtl under 60 s, and a session beyond a year is not a session.
  if (
    !Number.isInteger(sessionTtlSeconds) ||
    sessionTtlSeconds < 60 ||
    sessionTtlSeconds > 31536000
  )
    fail('SESSION_TTL_SECONDS', 'must be a whole number of seconds between 60 and 31536000')

  const sessionIdleSeconds = Number(
    e.SESSION_IDLE_TIMEOUT_SECONDS ?? Math.min(86400, sessionTtlSeconds),
  )
  if (
    !Number.isInteger(sessionIdleSeconds) ||
    sessionIdleSeconds < 60 ||
    sessionIdleSeconds > sessionTtlSeconds
  )
    fail(
      'SESSION_IDLE_TIMEOUT_SECONDS',
      'must be a whole number of seconds from 60 up to SESSION_TTL_SECONDS',
    )

  const sessionCacheSeconds = Number(e.SESSION_CACHE_SECONDS ?? 10)
  if (!Number.isInteger(sessionCacheSeconds) || sessionCacheSeconds < 0 || sessionCacheSeconds > 60)
    fail('SESSION_CACHE_SECONDS', 'must be a whole number of seconds from 0 to 60')

  const emailDelivery = e.EMAIL_DELIVERY ?? 'workos'
  if (emailDelivery !== 'workos' && emailDelivery !== 'custom')
    fail('EMAIL_DELIVERY', 'must be "workos" or "custom"')

  let email: Config['email']
  if (emailDelivery === 'custom') {
    const apiUrl =
      e.EMAIL_API_URL ?? (devMode && e.WORKOS_API_URL ? e.WORKOS_API_URL : 'https://api.resend.com')
    const apiKey = e.EMAIL_API_KEY ?? (devMode ? DEV_CREDENTIALS.emailApiKey : '')
    const from = e.EMAIL_FROM ?? (devMode ? 'Sign-in <sign-in@gateway.localhost>' : '')
    if (!httpUrl.safeParse(apiUrl).success) fail('EMAIL_API_URL', 'must be an http(s) URL')
    if (!apiKey) fail('EMAIL_API_KEY', 'must be set when EMAIL_DELIVERY=custom')
    if (!from || /[\r\n]/.test(from))
      fail('EMAIL_FROM', 'must be set to a sender such as "App <login@example.com>"')
    email = { apiUrl: apiUrl.replace(/\/+$/, ''), apiKey, from }
  }

  const publicPaths: PublicPath[] = []
  for (const entry of list(e.PUBLIC_PATHS)) {
    if (!entry.startsWith('/') || entry.startsWith('/auth/') || entry === '/auth*') {
      fail('PUBLIC_PATHS', 'each entry must start with "/" and must not cover /auth/')
      continue
    }
    publicPaths.push(
      entry.endsWith('*')
        ? { prefix: true, path: entry.slice(0, -1) }
        : { prefix: false, path: entry },
    )
  }

  let access: CompiledAccess | undefined
  if (e.ACCESS !== undefined) {
    const compiled = compileAccess(e.ACCESS)
    if (!compiled.ok) for (const problem of compiled.problems) fail('ACCESS', problem)
    else {
      access = compiled.access
      // A service binding is an object with fetch(); a name the routes use must be bound.
      for (const binding of access.services) {
        const bound = env[binding] as { fetch?: unknown } | undefined
        if (typeof bound?.fetch !== 'function')
          fail('ACCESS', `service "${binding}" is not a service binding of this Worker`)
      }
    }
    if (e.PUBLIC_PATHS !== undefined) {
      fail('ACCESS', 'is set together with PUBLIC_PATHS: use "public": true routes instead')
      fail('PUBLIC_PATHS', 'must not be set together with ACCESS (use "public": true routes)')
    }
  }

  const HOST_NAME =
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/
  const allowedHosts = list(e.ALLOWED_HOSTS).map((h) => h.toLowerCase())
  if (allowedHosts.some((h) => !HOST_NAME.test(h)))
    fail(
      'ALLOWED_HOSTS',
      'must be a comma list of host names, e.g. "app.example.com,docs.example.com"',
    )
  const handoffHosts = new Set([...allowedHosts, ...(access?.hosts ?? [])])
  let signInHost: string | undefined
  if (e.SIGN_IN_HOST !== undefined) {
    signInHost = e.SIGN_IN_HOST.trim().toLowerCase()
    if (!HOST_NAME.test(signInHost))
      fail('SIGN_IN_HOST', 'must be a host name such as auth.example.com (no scheme, no port)')
    else if (access?.hosts.includes(signInHost))
      // The sign-in host serves the gateway's pages and nothing else: an origin's page there
      // would share a browser origin with sign-in, MFA enrolment and the sessions page (its
      // scripts could plant the sign-in nonce or drive those pages as the person).
      fail(
        'SIGN_IN_HOST',
        'must serve no origin content: an ACCESS route names it (give the route its own host)',
      )
    else if ([...handoffHosts].every((host) => host === signInHost))
      fail(
        'SIGN_IN_HOST',
        'has no other host to hand sessions to: list them in ALLOWED_HOSTS or name them in ACCESS routes',
      )
    handoffHosts.add(signInHost)
  }

  let publicUrl: string | undefined
  if (e.PUBLIC_URL !== undefined) {
    if (!httpUrl.safeParse(e.PUBLIC_URL).success) fail('PUBLIC_URL', 'must be an http(s) origin')
    else publicUrl = new URL(e.PUBLIC_URL).origin
    if (publicUrl && signInHost && new URL(publicUrl).hostname !== signInHost)
      fail(
        'PUBLIC_URL',
        "must be the sign-in host's origin when SIGN_IN_HOST is set (links point there)",
      )
  } else if (!devMode) {
    // Without it, the request's Host would choose where emailed links and WorkOS redirects point.
    fail(
      'PUBLIC_URL',
      "must be set to the gateway's public origin, e.g. https://gateway.example.com",
    )
  }

  // Dev mode signs assertions with a throwaway key, mails through the emulator and serves every
  // code and link at /__dev/mailbox without authentication: never with a live key or a WorkOS
  // that is not on this machine.
  if (devMode && /^sk_live_/.test(workosApiKey)) {
    fail('DEV_MODE', 'must not be "true" together with an sk_live_ WORKOS_API_KEY')
    fail('WORKOS_API_KEY', 'must not be an sk_live_ key while DEV_MODE is "true"')
  }
  if (devMode && !(workosApi && isLoopbackHost(workosApi.hostname))) {
    fail('DEV_MODE', 'must not be "true" unless WORKOS_API_URL is the local emulator (loopback)')
    fail(
      'WORKOS_API_URL',
      'must be a loopback address (the local emulator) while DEV_MODE is "true"',
    )
  }

  const signInMethods = list(e.SIGN_IN_METHODS ?? 'code,link,sso').map((m) => m.toLowerCase())
  if (
    signInMethods.length === 0 ||
    signInMethods.some((m) => m !== 'code' && m !== 'link' && m !== 'sso') ||
    new Set(signInMethods).size !== signInMethods.length ||
    signInMethods[0] === 'sso'
  )
    fail(
      'SIGN_IN_METHODS',
      'must list "code", "link" and optionally "sso" (not first), e.g. "code,link,sso"',
    )

  const allowedEmailDomains = list(e.ALLOWED_EMAIL_DOMAINS).map((d) => d.toLowerCase())
  if (allowedEmailDomains.some((d) => !/^(\*\.)?[a-z0-9.-]+\.[a-z]{2,}$/.test(d)))
    fail(
      'ALLOWED_EMAIL_DOMAINS',
      'must be a comma list of domains, e.g. "example.com,*.example.org"',
    )
  const allowedEmails = list(e.ALLOWED_EMAILS).map((a) => a.toLowerCase())
  if (allowedEmails.some((a) => !/^[^@\s]+@[^@\s]+$/.test(a)))
    fail('ALLOWED_EMAILS', 'must be a comma list of email addresses')

  let assertionKeys: JsonWebKey[] = []
  if (e.ASSERTION_KEYS !== undefined) {
    try {
      const parsed = JSON.parse(e.ASSERTION_KEYS) as unknown
      const keys = Array.isArray(parsed) ? parsed : [parsed]
      if (keys.length === 0 || !keys.every(isEs256PrivateJwk)) throw new Error('shape')
      assertionKeys = keys as JsonWebKey[]
    } catch {
      fail(
        'ASSERTION_KEYS',
        'must be a JSON array of EC P-256 private JWKs, each with a "kid" (npm run keys)',
      )
    }
  } else if (!devMode) {
    fail(
      'ASSERTION_KEYS',
      'must be set: every proxied request carries a signed assertion (npm run keys)',
    )
  }

  let assertionAudience = originUrl.origin
  if (e.ASSERTION_AUDIENCE !== undefined) {
    if (e.ASSERTION_AUDIENCE.trim() === '') fail('ASSERTION_AUDIENCE', 'must not be empty')
    // One audience for every route would let any route's origin replay its assertion to another.
    else if (e.ACCESS !== undefined)
      fail(
        'ASSERTION_AUDIENCE',
        "must not be set together with ACCESS: each route's assertion carries its own audience " +
          '(the route\'s "audience", default its URL)',
      )
    else assertionAudience = e.ASSERTION_AUDIENCE.trim()
  }

  const accentColor = (e.ACCENT_COLOR ?? '#4f46e5').trim()
  if (!/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(accentColor))
    fail('ACCENT_COLOR', 'must be a hex colour such as #4f46e5')

  const logRequests = e.LOG_REQUESTS ?? 'auth'
  if (logRequests !== 'all' && logRequests !== 'auth' && logRequests !== 'errors')
    fail('LOG_REQUESTS', 'must be "all", "auth" or "errors"')

  const websocketRecheckSeconds = Number(e.WEBSOCKET_RECHECK_SECONDS ?? 30)
  if (
    !Number.isInteger(websocketRecheckSeconds) ||
    websocketRecheckSeconds < 1 ||
    websocketRecheckSeconds > 60
  )
    fail('WEBSOCKET_RECHECK_SECONDS', 'must be a whole number of seconds from 1 to 60')

  const workosTimeoutMs = Number(e.WORKOS_TIMEOUT_MS ?? 8000)
  if (!Number.isInteger(workosTimeoutMs) || workosTimeoutMs < 200 || workosTimeoutMs > 30000)
    fail('WORKOS_TIMEOUT_MS', 'must be a whole number of milliseconds from 200 to 30000')

  if (e.ADMIN_TOKEN !== undefined && e.ADMIN_TOKEN.length < 32)
    fail('ADMIN_TOKEN', 'must be at least 32 characters')
  if (e.FORWARD_AUTH_TOKEN !== undefined && e.FORWARD_AUTH_TOKEN.length < 32)
    fail('FORWARD_AUTH_TOKEN', 'must be at least 32 characters')
  if (e.WORKOS_WEBHOOK_SECRET !== undefined && e.WORKOS_WEBHOOK_SECRET.length < 16)
    fail('WORKOS_WEBHOOK_SECRET', 'must be the webhook secret from the WorkOS dashboard')

  // The limiters are bindings, not strings: without them sending would be unlimited, so refuse.
  for (const binding of RATE_LIMIT_BINDINGS) {
    const limiter = env[binding] as { limit?: unknown } | undefined
    if (typeof limiter?.limit !== 'function')
      fail(binding, 'must be a Rate Limiting binding (see [[ratelimits]] in wrangler.toml)')
  }

  if (problems.length > 0) throw new ConfigError(problems)

  return Object.freeze({
    workosApiKey,
    workosClientId,
    workosApi,
    sessionSecrets: Object.freeze(sessionSecrets),
    originUrl,
    sessionTtlSeconds,
    sessionIdleSeconds,
    sessionCacheSeconds,
    emailDelivery: emailDelivery as Config['emailDelivery'],
    email,
    publicPaths: Object.freeze(publicPaths),
    access,
    signInHost,
    handoffHosts,
    publicUrl,
    devMode,
    productName: (e.PRODUCT_NAME ?? '').trim() || 'this site',
    accentColor,
    signInMethods: Object.freeze(signInMethods as SignInMethod[]),
    allowedEmailDomains: Object.freeze(allowedEmailDomains),
    allowedEmails: Object.freeze(allowedEmails),
    assertionKeys: Object.freeze(assertionKeys),
    assertionAudience,
    adminToken: e.ADMIN_TOKEN,
    workosTimeoutMs,
    websocketRecheckSeconds,
    logRequests: logRequests as Config['logRequests'],
    forwardAuthToken: e.FORWARD_AUTH_TOKEN,
    webhookSecret: e.WORKOS_WEBHOOK_SECRET,
  })
}

/** WorkOS's origin for this configuration (the emulator's in dev), for CSP. */
export function workosOrigin(config: Config): string {
  const api = config.workosApi
  if (!api) return 'https://api.workos.com'
  return `${api.https ? 'https' : 'http'}://${api.hostname}${api.port ? `:${api.port}` : ''}`
}

/** localhost, *.localhost, 127.0.0.0/8 and ::1: addresses that never leave this machine. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '')
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  )
}

function isEs256PrivateJwk(key: unknown): boolean {
  const jwk = key as Record<string, unknown> | null
  return (
    typeof jwk === 'object' &&
    jwk !== null &&
    jwk.kty === 'EC' &&
    jwk.crv === 'P-256' &&
    typeof jwk.d === 'string' &&
    typeof jwk.x === 'string' &&
    typeof jwk.y === 'string' &&
    typeof jwk.kid === 'string' &&
    jwk.kid.length > 0
  )
}

// One parse per env object: workerd hands the same `env` to every request of an isolate.
const parsed = new WeakMap<object, Config | ConfigError>()

export function configFor(env: object): Config {
  let result = parsed.get(env)
  if (!result) {
    try {
      result = parseConfig(env as Record<string, unknown>)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      result = error
    }
    parsed.set(env, result)
  }
  if (result instanceof ConfigError) throw result
  return result
}
