// Bench only, never deployed (its own config: isolate.wrangler.toml). Runs the gateway's real
// fetch handler, or the bare pass-through handler, n times inside one request, so that the Node
// side (isolate.ts) can read the workerd process's CPU around thousands of requests and divide:
// wrangler dev's plumbing is paid once per call, not once per request.
//
// Real: the gateway's code and middleware, Web Crypto, the local KV binding of wrangler dev, the
// Rate Limiting bindings. In memory: the origin (globalThis.fetch answers ORIGIN_URL without a
// socket, for both handlers alike) and the service binding of the /svc route.
//
//   GET /__bench/run?scenario=<key>&log=errors|all&n=<count>
//     -> { isolate, n, mismatches, firstMismatch?, originRequests, identifiedAtOrigin, otherFetches }
// Any other request goes to the gateway (LOG_REQUESTS=errors, no ACCESS).
import { Hono } from 'hono'
import gateway from '../src/index'
import { configFor } from '../src/config'
import type { AppEnv } from '../src/app-env'
import { startSession, type SignedInIdentity } from '../src/session/start'
import { issueGrant, issueTokens } from '../src/oauth/tokens'
import passthrough from './passthrough/worker.js'
import { BENCH_GROUP, BENCH_SERVICE_BINDING, BENCH_TOKEN_NAME, POLICIES } from './policies.ts'
import {
  BENCH_ORIGIN_URL,
  BENCH_PUBLIC_URL,
  SCENARIOS,
  type CallerKind,
  LOG_SETTINGS,
  type LogSetting,
  type Scenario,
} from './scenarios.ts'

// ---- the in-memory origin ----------------------------------------------------------------------
const ORIGIN_BODY = JSON.stringify({ ok: true, from: 'bench-origin' })
const counters = { originRequests: 0, identifiedAtOrigin: 0, otherFetches: 0 }

/** What the origin answers: a small JSON body, as bench/run.ts's Node origin does. */
function originAnswer(headers: Headers | undefined): Response {
  counters.originRequests++
  if (headers?.has('x-auth-user')) counters.identifiedAtOrigin++
  return new Response(ORIGIN_BODY, {
    headers: { 'content-type': 'application/json', 'cache-control': 'private, no-cache' },
  })
}

const realFetch = globalThis.fetch
globalThis.fetch = async function inMemoryOrigin(
  input: RequestInfo | URL,
  init?: RequestInit,
): Promise<Response> {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
  if (!url.startsWith(`${BENCH_ORIGIN_URL}/`)) {
    // Anything else is not the hot path; counted so a run that leaves the isolate is noticed.
    counters.otherFetches++
    return realFetch(input, init)
  }
  // The bare handler passes the incoming Headers object, hono/proxy a Request: no copy either way.
  return originAnswer(input instanceof Request ? input.headers : (init?.headers as Headers))
}

/** A service binding's stand-in: answers like the origin. */
const serviceStandIn = {
  fetch: async (input: RequestInfo | URL, init?: RequestInit) =>
    originAnswer(input instanceof Request ? input.headers : (init?.headers as Headers)),
  connect: () => {
    throw new Error('not in the bench')
  },
} as unknown as Fetcher

// ---- settings: one env object per variant, made once per isolate --------------------------------
// The gateway parses its config once per env object (configFor's WeakMap), as it does deployed.
let assertionKeys: Promise<string> | undefined

/** A throwaway ES256 key for X-Auth-Assertion, made in the first request (not at global scope). */
async function makeAssertionKeys(): Promise<string> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const jwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey
  return JSON.stringify([{ ...jwk, kid: 'bench' }])
}

const variants = new Map<string, Env>()

async function variantEnv(
  env: Env,
  scenario: Pick<Scenario, 'policy' | 'cacheSeconds'>,
  log: LogSetting,
): Promise<Env> {
  const key = `${scenario.policy ?? 'none'}|${log}|${scenario.cacheSeconds ?? ''}`
  let variant = variants.get(key)
  if (!variant) {
    variant = {
      ...env,
      ASSERTION_KEYS: await (assertionKeys ??= makeAssertionKeys()),
      LOG_REQUESTS: log === 'all-muted' ? 'all' : log,
      [BENCH_SERVICE_BINDING]: serviceStandIn,
      ...(scenario.policy && { ACCESS: JSON.stringify(POLICIES[scenario.policy]()) }),
      ...(scenario.cacheSeconds !== undefined && {
        SESSION_CACHE_SECONDS: String(scenario.cacheSeconds),
      }),
    } as Env
    variants.set(key, variant)
  }
  return variant
}

// ---- the callers: sessions made by the gateway's own startSession, a token by its admin API, ----
// ---- an OAuth grant and its tokens by issueGrant and issueTokens --------------------------------
interface Fixtures {
  personCookie: string
  ssoCookie: string
  token: { clientId: string; clientSecret: string }
  accessToken: string
}

/** The resource of the bench's one route without ACCESS (src/oauth/resources.ts resourceOf). */
const BENCH_RESOURCE = `${BENCH_PUBLIC_URL}/`

const setup = new Hono<AppEnv>()
setup.use(async function loadConfig(c, next) {
  c.set('config', configFor(c.env))
  await next()
})
setup.post('/session', async (c) => {
  await startSession(c, await c.req.json<SignedInIdentity>())
  return c.body(null, 204)
})
// A person's sign-in, then a grant to a command line for the bench's resource, as consent makes.
setup.post('/oauth-tokens', async (c) => {
  const record = await startSession(c, await c.req.json<SignedInIdentity>())
  const client = { clientId: 'gwc_bench', clientName: 'bench' }
  const grant = await issueGrant(c, { record }, client, BENCH_RESOURCE)
  return c.json(await issueTokens(c, grant))
})

async function sessionCookie(env: Env, identity: SignedInIdentity): Promise<string> {
  const response = await setup.fetch(
    new Request(`${BENCH_PUBLIC_URL}/session`, {
      method: 'POST',
      headers: { 'cf-connecting-ip': '198.51.100.7', 'user-agent': 'bench' },
      body: JSON.stringify(identity),
    }),
    env,
  )
  const pair = response.headers
    .getSetCookie()
    .map((header) => header.split(';', 1)[0]!)
    .find((p) => p.startsWith('__Host-session=') && p.length > '__Host-session='.length)
  if (!pair) throw new Error(`no session was made (${response.status}): ${await response.text()}`)
  return pair
}

async function makeFixtures(env: Env, ctx: ExecutionContext): Promise<Fixtures> {
  const base = await variantEnv(env, {}, 'errors')
  const personCookie = await sessionCookie(base, {
    userId: 'user_bench',
    email: 'bench@example.com',
    firstName: 'Bench',
    lastName: null,
    method: 'magic_auth',
  })
  const ssoCookie = await sessionCookie(base, {
    userId: 'prof_bench',
    email: 'sso-bench@example.com',
    firstName: 'Single',
    lastName: 'Sign-On',
    method: 'sso',
    sso: {
      organizationId: 'org_01BENCHORGANIZATION0000000',
      connectionId: 'conn_01BENCHCONNECTION00000000',
      roles: ['member', 'reviewer'],
      groups: ['everyone', 'staff', BENCH_GROUP, 'platform', 'on-call', 'vpn', 'wiki', 'europe'],
    },
  })
  const created = await gateway.fetch(
    new Request(`${BENCH_PUBLIC_URL}/auth/admin/service-tokens`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${(env as unknown as Record<string, string>).ADMIN_TOKEN}`,
        'content-type': 'application/json',
        'cf-connecting-ip': '198.51.100.7',
      },
      body: JSON.stringify({ name: BENCH_TOKEN_NAME }),
    }),
    base,
    ctx,
  )
  if (created.status !== 201)
    throw new Error(`the admin API made no token (${created.status}): ${await created.text()}`)
  const token = (await created.json()) as { clientId: string; clientSecret: string }
  const accessToken = await oauthAccessToken(base, {
    userId: 'user_bench_cli',
    email: 'cli-bench@example.com',
    firstName: 'Command',
    lastName: 'Line',
    method: 'magic_auth',
  })
  return { personCookie, ssoCookie, token, accessToken }
}

async function oauthAccessToken(env: Env, identity: SignedInIdentity): Promise<string> {
  const response = await setup.fetch(
    new Request(`${BENCH_PUBLIC_URL}/oauth-tokens`, {
      method: 'POST',
      headers: { 'cf-connecting-ip': '198.51.100.7', 'user-agent': 'bench' },
      body: JSON.stringify(identity),
    }),
    env,
  )
  if (response.status !== 200)
    throw new Error(`no OAuth tokens were made (${response.status}): ${await response.text()}`)
  return ((await response.json()) as { access_token: string }).access_token
}

let fixtures: Promise<Fixtures> | undefined

// ---- the requests ---------------------------------------------------------------------------------
const EDGE = {
  'cf-connecting-ip': '198.51.100.7',
  'cf-ipcountry': 'DE',
  'cf-ray': '8f1e2d3c4b5a6978-FRA',
  'cf-visitor': '{"scheme":"https"}',
  'x-forwarded-proto': 'https',
  'x-real-ip': '198.51.100.7',
}
const BROWSER = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8',
  'accept-encoding': 'gzip, br',
  'accept-language': 'en-GB,en;q=0.9,de;q=0.8',
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  'sec-fetch-dest': 'document',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-site': 'same-origin',
  'sec-fetch-user': '?1',
  'upgrade-insecure-requests': '1',
  ...EDGE,
}
const MACHINE = {
  accept: 'application/json',
  'accept-encoding': 'gzip',
  'user-agent': 'bench-bot/1.0',
  ...EDGE,
}
const APP_COOKIES = 'theme=dark; _ga=GA1.1.1234567890.1700000000'

function headersFor(caller: CallerKind, f: Fixtures): Record<string, string> {
  switch (caller) {
    case 'person':
      return { ...BROWSER, cookie: `${APP_COOKIES}; ${f.personCookie}` }
    case 'sso':
      return { ...BROWSER, cookie: `${APP_COOKIES}; ${f.ssoCookie}` }
    case 'token':
      return {
        ...MACHINE,
        'gateway-client-id': f.token.clientId,
        'gateway-client-secret': f.token.clientSecret,
      }
    case 'bearer':
      return { ...MACHINE, authorization: `Bearer ${f.accessToken}` }
    case 'anonymous-api':
      return MACHINE
    case 'anonymous-browser':
      return { ...BROWSER, cookie: APP_COOKIES }
  }
}

let isolate: string | undefined

async function run(url: URL, env: Env, ctx: ExecutionContext): Promise<Response> {
  isolate ??= crypto.randomUUID()
  const scenario = SCENARIOS.find((s) => s.key === url.searchParams.get('scenario'))
  const log = LOG_SETTINGS.find((setting) => setting === url.searchParams.get('log')) ?? 'errors'
  const n = Number(url.searchParams.get('n') ?? '0')
  if (!scenario || !Number.isInteger(n) || n < 0)
    return Response.json({ error: 'scenario=<key>&n=<count>' }, { status: 400 })
  const f = await (fixtures ??= makeFixtures(env, ctx).catch((error: unknown) => {
    fixtures = undefined
    throw error
  }))
  const target = await variantEnv(env, scenario, log)
  const requestUrl = `${BENCH_PUBLIC_URL}${scenario.path}`
  const headers = headersFor(scenario.caller, f)
  const bare = scenario.handler === 'bare'

  Object.assign(counters, { originRequests: 0, identifiedAtOrigin: 0, otherFetches: 0 })
  let mismatches = 0
  let firstMismatch: { status: number; body: string } | undefined
  // all-muted: every line is made and handed to console.log, which keeps only its length.
  const print = console.log
  let mutedChars = 0
  if (log === 'all-muted')
    console.log = (line: unknown) => {
      mutedChars += String(line).length
    }
  try {
    for (let i = 0; i < n; i++) {
      const request = new Request(requestUrl, { headers })
      const response = bare
        ? await passthrough.fetch(request, target as unknown as { ORIGIN_URL: string })
        : await gateway.fetch(request, target, ctx)
      if (response.status === scenario.expect) {
        await response.arrayBuffer()
      } else {
        mismatches++
        const body = await response.text()
        firstMismatch ??= { status: response.status, body: body.slice(0, 300) }
      }
    }
  } finally {
    console.log = print
  }
  return Response.json({ isolate, n, mismatches, firstMismatch, mutedChars, ...counters })
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url)
    if (url.pathname === '/__bench/run') return run(url, env, ctx)
    return gateway.fetch(request, await variantEnv(env, {}, 'errors'), ctx)
  },
}

// The revocation authority the gateway records ends in (isolate.wrangler.toml binds it).
export { RevocationAuthority } from '../src/revocation/authority'
