// `npm run access -- check …` and `npm run access -- lint`: the operator's view of ACCESS, decided
// by the Worker's own code (src/access), so what this prints is what the gateway does.
import { existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import {
  checkPath,
  compileAccess,
  compilePublicPaths,
  parsePublicPaths,
  decideMethods,
  evaluate,
  lintAccess,
  lintSignInHost,
  normaliseHost,
  overrideRoutedElsewhere,
  queryOverrides,
  requestFacts,
  type AuthMethod,
  type CompiledAccess,
  type CompiledRoute,
  type OverrideMethods,
  type Principal,
} from '../src/access/index.ts'

const USAGE = `Usage:
  npm run access -- check --url https://host/path [--method GET]
      [--email a@example.com | --token NAME] [--ip 1.2.3.4] [--country DE]
      [--org org_…] [--role R]… [--group G]… [--method code|link|sso] [--mfa]
      [--signed-in-ago SECONDS] [--file access.json | --env NAME] [--config wrangler.toml]
  npm run access -- lint [--file access.json [--sign-in-host HOST] | --env NAME]
      [--config wrangler.toml]

ACCESS is read as the Worker gets it: --file (JSON); else .dev.vars (local dev), then the
[vars] of wrangler.toml. With --env NAME, the [env.NAME.vars] of wrangler.toml (what is deployed;
.dev.vars is local only). A value set with \`wrangler secret put\` is not visible here.
Without --email or --token the request carries no session.
Exit status: 0 allowed (lint: valid), 1 refused, 2 usage or configuration error.`

const EXIT_ALLOWED = 0
const EXIT_REFUSED = 1
const EXIT_USAGE = 2

class UsageError extends Error {}
/** Where ACCESS comes from is wrong: exit 2 like a usage error, without the usage text. */
class SourceError extends UsageError {}

const options = {
  url: { type: 'string' },
  // Given twice, as the README's check tool does: an HTTP method (GET) and a sign-in method
  // (code, link or sso), told apart by their values.
  method: { type: 'string', multiple: true },
  email: { type: 'string' },
  token: { type: 'string' },
  ip: { type: 'string' },
  country: { type: 'string' },
  org: { type: 'string' },
  role: { type: 'string', multiple: true },
  group: { type: 'string', multiple: true },
  'method-auth': { type: 'string' },
  mfa: { type: 'boolean', default: false },
  'signed-in-ago': { type: 'string', default: '0' },
  file: { type: 'string' },
  env: { type: 'string' },
  config: { type: 'string', default: 'wrangler.toml' },
  'sign-in-host': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

type Values = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>['values']

async function main(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const { values, positionals } = parsed
  const command = positionals[0]
  if (values.help || command === undefined) {
    console.log(USAGE)
    return values.help ? EXIT_ALLOWED : EXIT_USAGE
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument: ${positionals[1]}`)
  if (command !== 'check' && command !== 'lint') throw new UsageError(`unknown command: ${command}`)

  const loaded = await loadPolicy(values)
  const compiled = compilePolicy(loaded)
  if (!compiled.ok) {
    console.error(`${loaded.variable} from ${loaded.source} is invalid:`)
    for (const problem of compiled.problems) console.error(`  ${problem}`)
    return EXIT_USAGE
  }
  const source = `${loaded.variable} from ${loaded.source}`
  return command === 'lint'
    ? lint(compiled.access, source, loaded.signInHost)
    : check(compiled.access, values, source)
}

/**
 * The policy as the Worker compiles it (src/config): ACCESS, else PUBLIC_PATHS compiled into the
 * same shape (public routes, then any signed-in person), so the tool decides as the one gate does.
 */
function compilePolicy(
  loaded: LoadedPolicy,
): { ok: true; access: CompiledAccess } | { ok: false; problems: readonly string[] } {
  if (loaded.variable === 'ACCESS') return compileAccess(loaded.raw)
  const paths = parsePublicPaths(typeof loaded.raw === 'string' ? loaded.raw : undefined)
  if (paths.problems.length > 0) return { ok: false, problems: paths.problems }
  // The audience only names the assertion's `aud`, which no decision reads.
  return { ok: true, access: compilePublicPaths(paths.entries, 'the origin') }
}

function lint(access: CompiledAccess, source: string, signInHost: string | undefined): number {
  const warnings = [...lintAccess(access), ...lintSignInHost(access, signInHost)]
  console.log(`${source}: valid, ${access.routes.length} route(s)`)
  for (const route of access.routes) console.log(`  ${describeRoute(route)}`)
  for (const warning of warnings) console.log(`warning: ${warning}`)
  if (warnings.length === 0) console.log('no warnings')
  return EXIT_ALLOWED
}

function check(access: CompiledAccess, values: Values, source: string): number {
  if (!values.url) throw new UsageError('check needs --url')
  let url: URL
  try {
    url = new URL(values.url)
  } catch {
    throw new UsageError('--url must be an absolute URL, e.g. https://app.example.com/path')
  }
  const method = ((values.method ?? []).find((m) => !SIGN_IN_METHODS.has(m)) ?? 'GET').toUpperCase()
  const now = Date.now()
  const principal = principalFrom(values, now)
  const facts = requestFacts(
    { host: url.host, path: url.pathname, method },
    values.ip ?? '',
    values.country,
    now,
  )

  console.log(`policy    ${source} (${access.routes.length} routes)`)
  console.log(
    `request   ${method} ${url.protocol}//${normaliseHost(url.host)}${url.pathname}` +
      `  ip ${facts.ip || 'unknown'}  country ${facts.country ?? 'unknown'}`,
  )
  console.log(`principal ${describePrincipal(principal, now)}`)

  // The Worker refuses these before routing; so does the tool.
  if (!checkPath(url.pathname).ok) {
    console.log('route     none: the path is refused before routing')
    console.log('decision  400 bad_path')
    return EXIT_REFUSED
  }
  const evaluation = evaluate(access, facts, principal, { explain: true })
  if (evaluation.outcome === 'no_route') {
    console.log('route     none matches')
    console.log('decision  404 no_route')
    return EXIT_REFUSED
  }
  console.log(`route     ${describeRoute(evaluation.route)}`)
  // As the Worker: once the request's own method is allowed, a `_method` in the query is decided
  // as well where the method matters (the Worker also reads one from a POST's form body, which
  // the tool is not given).
  const named =
    evaluation.outcome === 'allow' ? queryOverrides(access, facts, url.search.slice(1)) : NONE
  if (!named.ok) {
    console.log('decision  400 bad_method_override (_method does not name one method)')
    return EXIT_REFUSED
  }
  const overrides = named.methods
  const elsewhere = overrideRoutedElsewhere(access, facts, evaluation.route, overrides)
  if (elsewhere !== undefined) {
    console.log(`decision  400 method_override_refused (${elsewhere} is routed elsewhere)`)
    return EXIT_REFUSED
  }
  const decision =
    evaluation.outcome === 'allow'
      ? decideMethods(evaluation.route, facts, overrides, principal, { explain: true })
      : evaluation
  for (const verdict of decision.verdicts)
    console.log(`  ${verdict.matched ? '✓' : '✗'} ${verdict.rule}: ${verdict.detail}`)
  console.log(`decision  ${decision.outcome}${ANSWERS[decision.outcome]}`)
  return decision.outcome === 'allow' ? EXIT_ALLOWED : EXIT_REFUSED
}

const NONE: OverrideMethods = { ok: true, methods: [] }

const ANSWERS = {
  allow: ' (proxied)',
  sign_in: ' (navigation: 302 to /auth/login; otherwise 401 not_signed_in)',
  deny: ' (403 access_denied)',
  reauthenticate: ' (navigation: 302 to /auth/login?reauth=1; otherwise 401)',
  mfa_required: ' (navigation: 302 to /auth/mfa; otherwise 401 mfa_required)',
} as const

const SIGN_IN_METHODS = new Set(['code', 'link', 'sso'])

function principalFrom(values: Values, now: number): Principal {
  if (values.email && values.token) throw new UsageError('give --email or --token, not both')
  if (values.token) return { kind: 'service', id: 'svc_check', name: values.token }
  if (!values.email) {
    if (
      values.org ||
      values.role ||
      values.group ||
      values.mfa ||
      values['method-auth'] ||
      (values.method ?? []).some((m) => SIGN_IN_METHODS.has(m))
    )
      throw new UsageError('--org, --role, --group, --mfa and --method-auth describe a --email')
    return null
  }
  const ago = Number(values['signed-in-ago'])
  if (!Number.isFinite(ago) || ago < 0)
    throw new UsageError('--signed-in-ago must be a number of seconds')
  const authMethod =
    values['method-auth'] ??
    (values.method ?? []).find((m) => SIGN_IN_METHODS.has(m)) ??
    (values.org ? 'sso' : 'code')
  if (authMethod !== 'sso' && authMethod !== 'code' && authMethod !== 'link')
    throw new UsageError('--method-auth must be code, link or sso')
  return {
    kind: 'person',
    email: values.email,
    userId: 'user_check',
    signedInAt: now - ago * 1000,
    authMethod: authMethod satisfies AuthMethod,
    ...(values.org !== undefined && { organizationId: values.org }),
    ...(values.role !== undefined && { roles: values.role }),
    ...(values.group !== undefined && { groups: values.group }),
    mfa: values.mfa,
  }
}

function describePrincipal(principal: Principal, now: number): string {
  if (principal === null) return 'none (no session, no service token)'
  if (principal.kind === 'service') return `service token "${principal.name}"`
  const parts = [
    principal.email,
    `${principal.authMethod}, signed in ${Math.round((now - principal.signedInAt) / 1000)} s ago`,
  ]
  if (principal.organizationId) parts.push(`org ${principal.organizationId}`)
  if (principal.roles?.length) parts.push(`roles ${principal.roles.join(',')}`)
  if (principal.groups?.length) parts.push(`groups ${principal.groups.join(',')}`)
  parts.push(principal.mfa ? 'MFA passed' : 'no MFA')
  return `person ${parts.join('; ')}`
}

function describeRoute(route: CompiledRoute): string {
  const target =
    route.target.kind === 'default'
      ? 'ORIGIN_URL'
      : route.target.kind === 'origin'
        ? `${route.target.origin}${route.target.pathPrefix}`
        : `service binding ${route.target.binding}`
  const methods = route.methods ? ` ${[...route.methods].join(',')}` : ''
  const flags = [
    // PUBLIC_PATHS entries always match the case written.
    route.path.kind !== 'all' && (route.path.kind === 'public-path' || route.path.caseSensitive)
      ? 'case-sensitive path'
      : undefined,
    route.public ? 'public' : undefined,
    route.maxSignInAge !== undefined ? `maxSignInAge ${route.maxSignInAge}s` : undefined,
    route.cors ? 'cors' : undefined,
    route.websockets ? undefined : 'no websockets',
    route.strictRevocation ? 'strict revocation' : undefined,
    launcherFlag(route),
  ].filter(Boolean)
  return (
    `${route.label}  host ${route.hostText}  path ${route.pathText}${methods}  → ${target}` +
    (flags.length ? `  (${flags.join(', ')})` : '')
  )
}

/** How the app launcher lists the route, where that is not the default (its name, at its path). */
function launcherFlag(route: CompiledRoute): string | undefined {
  const entry = route.launcher
  if (!entry) return route.public ? undefined : 'not in the launcher'
  const title = entry.title === undefined || entry.title === route.name ? '' : ` "${entry.title}"`
  const url = entry.url === undefined ? '' : ` at ${entry.url}`
  return title || url || route.public ? `in the launcher${title}${url}` : undefined
}

interface LoadedPolicy {
  /** ACCESS, or PUBLIC_PATHS where ACCESS is not set (the Worker's rule). */
  variable: 'ACCESS' | 'PUBLIC_PATHS'
  source: string
  raw: unknown
  signInHost: string | undefined
}

/**
 * The policy's variable, where it came from, and SIGN_IN_HOST beside it (for lint). Without
 * ACCESS the Worker decides with PUBLIC_PATHS (unset: nothing public), and so does the tool.
 */
async function loadPolicy(values: Values): Promise<LoadedPolicy> {
  const signInHostOf = (value: unknown) =>
    typeof value === 'string' && value.trim() ? value.trim().toLowerCase() : undefined
  const fromVars = (source: string, vars: Record<string, unknown>): LoadedPolicy => ({
    variable: vars.ACCESS !== undefined ? 'ACCESS' : 'PUBLIC_PATHS',
    source,
    raw: vars.ACCESS ?? vars.PUBLIC_PATHS,
    signInHost: signInHostOf(values['sign-in-host'] ?? vars.SIGN_IN_HOST),
  })
  if (values.file !== undefined) {
    if (values.env !== undefined) throw new UsageError('give --file or --env, not both')
    if (!existsSync(values.file)) throw new SourceError(`--file: ${values.file} does not exist`)
    return fromVars(values.file, { ACCESS: readFileSync(values.file, 'utf8') })
  }
  // `wrangler dev` lets .dev.vars override [vars]; a deployed environment never sees .dev.vars.
  const local =
    values.env === undefined && existsSync('.dev.vars')
      ? parseDotenv(readFileSync('.dev.vars', 'utf8'))
      : {}
  if (local.ACCESS !== undefined) return fromVars('.dev.vars', local)
  if (!existsSync(values.config)) throw new SourceError(`${values.config} does not exist`)
  process.env.WRANGLER_SEND_METRICS = 'false'
  const { unstable_readConfig } = await import('wrangler')
  let config
  try {
    config = unstable_readConfig(
      { config: values.config, ...(values.env !== undefined && { env: values.env }) },
      { hideWarnings: true },
    )
  } catch (error) {
    throw new SourceError((error as Error).message)
  }
  const section = values.env === undefined ? '[vars]' : `[env.${values.env}.vars]`
  const vars = config.vars as Record<string, unknown>
  if (vars.ACCESS !== undefined) return fromVars(`${values.config} ${section}`, vars)
  // No ACCESS anywhere: PUBLIC_PATHS, with .dev.vars overriding [vars] as wrangler dev does.
  if (local.PUBLIC_PATHS !== undefined) return fromVars('.dev.vars', local)
  return fromVars(`${values.config} ${section}`, vars)
}

// The dotenv syntax wrangler reads .dev.vars with: KEY=value, optional `export`, values in single,
// double or back quotes (which may span lines; double quotes expand \n), `#` comments.
const DOTENV_LINE =
  /^\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?$/gm

function parseDotenv(text: string): Record<string, string> {
  const vars: Record<string, string> = {}
  for (const match of text.replace(/\r\n?/g, '\n').matchAll(DOTENV_LINE)) {
    let value = (match[2] ?? '').trim()
    const quote = value[0]
    value = value.replace(/^(['"`])([\s\S]*)\1$/, '$2')
    if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\r/g, '\r')
    vars[match[1]!] = value
  }
  return vars
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`access: ${error.message}${error instanceof SourceError ? '' : `\n\n${USAGE}`}`)
  process.exitCode = EXIT_USAGE
}
