// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'

/** One thing wrong with the configuration: the variable it names, and never its value. */
export type Problem = { variable: string; problem: string }

/** What an area's validator returns: its part of the Config, and every problem it found. */
export interface Checked<T> {
  value: T
  problems: Problem[]
}

const optionalText = z.optional(z.string())

// Raw shape: every value arrives as a string (or is absent). Each area's validator applies the
// semantic rules.
export const rawSettings = z.object({
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
  REVOCATION_BOUND_SECONDS: optionalText,
  OAUTH_ACCESS_TOKEN_SECONDS: optionalText,
  SIGN_IN_HOST: optionalText,
  ALLOWED_HOSTS: optionalText,
  AUDIT_ORGANIZATION_ID: optionalText,
  // A JSON string (--var, .dev.vars) or a TOML table from wrangler.toml (an object).
  ACCESS: z.optional(z.unknown()),
})

/** The settings as they arrive, each a string or absent (ACCESS may also be a TOML table). */
export type Settings = z.infer<typeof rawSettings>

/** The variables and bindings of the Worker, as workerd hands them over. */
export type RawEnv = Record<string, unknown>

/** A validator's problem list, and the one way it adds to it. */
export function problemList(): {
  problems: Problem[]
  fail: (variable: string, problem: string) => void
} {
  const problems: Problem[] = []
  return { problems, fail: (variable, problem) => problems.push({ variable, problem }) }
}

export const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0)

export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })

/** A whole number from min to max: every duration and count the settings take. */
export const wholeNumberFrom = (value: number, min: number, max: number): boolean =>
  Number.isInteger(value) && value >= min && value <= max
