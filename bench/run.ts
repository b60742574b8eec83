// `npm run bench [-- --quick]`: the gateway against a bare pass-through Worker in front of the same
// local origin, both under workerd (`wrangler dev`), measured in one run on this machine. Prints a
// table and writes bench/results/latest.json. Not a test: it never fails for being slow.
import autocannon from 'autocannon'
import { build } from 'esbuild'
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { webcrypto } from 'node:crypto'
import { freePort } from '../e2e/dev-server.ts'
import { startEmulator } from '../emulator/server.ts'
import { checkPath, compileAccess, evaluate, type CompiledAccess } from '../src/access/index.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const results = `${root}bench/results/`
const quick = process.argv.includes('--quick')
const DURATION_S = quick ? 2 : 8
const ROUNDS = quick ? 1 : 3
const CONNECTIONS = 8
mkdirSync(results, { recursive: true })

// ---- the deployable bundle -------------------------------------------------------------------
function bundleSize() {
  execFileSync(
    process.execPath,
    [
      `${root}node_modules/wrangler/bin/wrangler.js`,
      'deploy',
      '--dry-run',
      '--outdir',
      `${results}dist`,
      '--minify',
      '--metafile',
      `${results}dist/meta.json`,
    ],
    {
      cwd: root,
      stdio: 'pipe',
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_HIDE_BANNER: 'true',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      },
    },
  )
  const code = readFileSync(`${results}dist/index.js`)
  const meta = JSON.parse(readFileSync(`${results}dist/meta.json`, 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>
  }
  const inputs = Object.values(meta.outputs).find((o) => Object.keys(o.inputs).length > 0)!.inputs
  const byPackage: Record<string, number> = {}
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const match = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(path)
    const name = match ? match[1]! : 'src (the gateway)'
    byPackage[name] = (byPackage[name] ?? 0) + bytesInOutput
  }
  return {
    rawBytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    byPackageRawBytes: Object.fromEntries(Object.entries(byPackage).sort((a, b) => b[1] - a[1])),
  }
}

// ---- the processes under test ----------------------------------------------------------------
function startOrigin(port: number) {
  const body = JSON.stringify({ ok: true, from: 'bench-origin' })
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      })
      response.end(body)
    })
  })
  return new Promise<{ close: () => void }>((resolve) =>
    server.listen(port, '127.0.0.1', () => resolve({ close: () => server.close() })),
  )
}

/** `wrangler dev` for one Worker on a free port; its whole process group is stopped at the end. */
async function startWorker(options: {
  config: string
  port: number
  vars: Record<string, string>
}) {
  const started = performance.now()
  const inspector = await freePort()
  const vars = Object.entries(options.vars).map(([k, v]) => `${k}:${v}`)
  const child = spawn(
    process.execPath,
    [
      `${root}node_modules/wrangler/bin/wrangler.js`,
      'dev',
      '--config',
      options.config,
      '--port',
      String(options.port),
      '--ip',
      '127.0.0.1',
      '--inspector-port',
      String(inspector),
      // Each Worker keeps its local KV in its own folder: two wrangler dev processes on one
      // config would otherwise contend for the same state database.
      '--persist-to',
      mkdtempSync(join(tmpdir(), 'gateway-bench-')),
      ...(vars.length ? ['--var', ...vars] : []),
    ],
    {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_HIDE_BANNER: 'true',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      },
    },
  )
  let output = ''
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const url = `http://127.0.0.1:${options.port}`
  const stop = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 240; i++) {
    try {
      const response = await fetch(`${url}/healthz`)
      await response.arrayBuffer()
      return { url, startupMs: performance.now() - started, stop }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
  stop()
  throw new Error(`wrangler dev for ${options.config} did not start:\n${output.slice(-2000)}`)
}

// ---- measurements ----------------------------------------------------------------------------
interface LoadResult {
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
  requests: number
}

async function load(
  url: string,
  headers: Record<string, string>,
  seconds = DURATION_S,
): Promise<LoadResult> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  }
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
function medianOf(runs: LoadResult[]): LoadResult {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    requests: runs.reduce((n, r) => n + r.requests, 0),
  }
}

async function signInWithCode(
  gatewayUrl: string,
  emulatorUrl: string,
  email: string,
): Promise<string> {
  const cookies: string[] = []
  const keep = (response: Response) => {
    for (const header of response.headers.getSetCookie()) cookies.push(header.split(';')[0]!)
  }
  const sent = await fetch(`${gatewayUrl}/auth/magic-auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  })
  keep(sent)
  const mail = (await (
    await fetch(`${emulatorUrl}/__mailbox?to=${encodeURIComponent(email)}`)
  ).json()) as {
    messages: { code: string }[]
  }
  const verified = await fetch(`${gatewayUrl}/auth/magic-auth/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: cookies.join('; ') },
    body: JSON.stringify({ email, code: mail.messages[0]!.code }),
  })
  keep(verified)
  const session = cookies.reverse().find((c) => c.startsWith('__Host-session=') && c.length > 20)
  if (!session) throw new Error(`sign-in failed: ${verified.status}`)
  return session
}

async function signInWithLink(
  gatewayUrl: string,
  emulatorUrl: string,
  email: string,
): Promise<string> {
  const sent = await fetch(`${gatewayUrl}/auth/magic-link`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  })
  const nonce = sent.headers
    .getSetCookie()
    .find((c) => c.startsWith('__Host-signin='))!
    .split(';')[0]!
  const mail = (await (
    await fetch(`${emulatorUrl}/__mailbox?to=${encodeURIComponent(email)}`)
  ).json()) as {
    messages: { link: string }[]
  }
  const confirm = await fetch(mail.messages[0]!.link, { redirect: 'manual' })
  const callback = confirm.headers.get('location')!
  const done = await fetch(callback, { redirect: 'manual', headers: { cookie: nonce } })
  const session = done.headers.getSetCookie().find((c) => c.startsWith('__Host-session='))
  if (!session) throw new Error(`link sign-in failed: ${done.status}`)
  return session.split(';')[0]!
}

async function cryptoCosts() {
  // workerd's clock does not advance during CPU work (a Spectre mitigation), so the primitives are
  // timed in Node's Web Crypto, with the gateway's own helpers.
  const out = `${results}crypto-bench.mjs`
  await build({
    stdin: {
      contents: `export { hmacSign, hmacVerify, randomToken } from './src/crypto'`,
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    outfile: out,
    logLevel: 'silent',
  })
  const { hmacSign, hmacVerify, randomToken } = (await import(out)) as {
    hmacSign: (secret: string, purpose: string, message: string) => Promise<string>
    hmacVerify: (
      s: string[],
      purpose: string,
      message: string,
      signature: string,
    ) => Promise<boolean>
    randomToken: (bytes: number) => string
  }
  const secrets = ['bench-secret-0123456789-0123456789-abcdef']
  const id = randomToken(32)
  const signature = await hmacSign(secrets[0]!, 'session-cookie', id)
  const time = async (n: number, op: () => Promise<unknown>) => {
    for (let i = 0; i < 200; i++) await op()
    const started = performance.now()
    for (let i = 0; i < n; i++) await op()
    return ((performance.now() - started) * 1000) / n
  }
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
  ])) as webcrypto.CryptoKeyPair
  const jwt = new TextEncoder().encode(`${'h'.repeat(60)}.${'p'.repeat(220)}`)
  const n = quick ? 2000 : 20000
  return {
    cookieCheckMicros: await time(n, () => hmacVerify(secrets, 'session-cookie', id, signature)),
    assertionSignMicros: await time(n / 4, () =>
      crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, jwt),
    ),
  }
}

// ---- access policies ---------------------------------------------------------------------------
/**
 * 50 routes whose last one serves /bench: the worst case for matching (every route is tried).
 * The others mix hosts, prefixes, methods and conditions of every kind, as a real policy would.
 */
function fiftyRoutes() {
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

/**
 * The decision alone, in Node (the same pure code the Worker runs): µs per request for checkPath
 * plus evaluate over 50 routes, the matching route last. workerd's clock does not move during CPU
 * work, so this part is timed here; the end-to-end cost is the wrangler dev run above it.
 */
function decisionCost(access: CompiledAccess) {
  const principal = {
    kind: 'person' as const,
    email: 'bench@example.com',
    userId: 'user_bench',
    signedInAt: Date.now(),
    authMethod: 'code' as const,
  }
  const n = quick ? 20_000 : 200_000
  const round = () => {
    const started = performance.now()
    for (let i = 0; i < n; i++) {
      checkPath('/bench')
      evaluate(
        access,
        {
          host: 'gateway.example',
          path: '/bench',
          method: 'GET',
          ip: '198.51.100.7',
          country: 'DE',
          now: 0,
        },
        principal,
      )
    }
    return ((performance.now() - started) * 1000) / n
  }
  round()
  const rounds = Array.from({ length: 5 }, round)
  return { micros: median(rounds), min: Math.min(...rounds), max: Math.max(...rounds) }
}

// ---- the run ---------------------------------------------------------------------------------
const [originPort, emulatorPort, gatewayPort, barePort, countingPort, accessPort] =
  (await Promise.all(Array.from({ length: 6 }, () => freePort()))) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
const fifty = fiftyRoutes()
const compiledFifty = compileAccess(fifty)
if (!compiledFifty.ok)
  throw new Error(`bench ACCESS is invalid: ${compiledFifty.problems.join('; ')}`)
console.log(
  `bench: ${quick ? 'quick' : 'full'} run, ${CONNECTIONS} connections, ${DURATION_S} s × ${ROUNDS} rounds`,
)
const bundle = bundleSize()
const origin = await startOrigin(originPort)
const emulator = await startEmulator({
  port: emulatorPort,
  apiKey: 'sk_test_emulator',
  clientId: 'client_emulator',
  emailApiKey: 're_dev_emulator',
  redirectUris: [],
})
const originUrl = `http://127.0.0.1:${originPort}`
const gatewayBindings = {
  DEV_MODE: 'true',
  WORKOS_API_URL: emulator.url,
  ORIGIN_URL: originUrl,
  SESSION_SECRET: 'bench-session-secret-0123456789-abcdefghij',
  // wrangler dev forwards every console line from workerd through its inspector and prints it,
  // which costs the gateway more here than the request itself; in production a log line is
  // cheap. Measured with LOG_REQUESTS=all in README.
  LOG_REQUESTS: process.argv.includes('--log-all') ? 'all' : 'errors',
}
const [bare, gateway, counting, withAccess] = await Promise.all([
  startWorker({
    config: `${root}bench/passthrough/wrangler.toml`,
    port: barePort,
    vars: { ORIGIN_URL: originUrl },
  }),
  startWorker({ config: `${root}wrangler.toml`, port: gatewayPort, vars: gatewayBindings }),
  startWorker({
    config: `${root}bench/counting.wrangler.toml`,
    port: countingPort,
    vars: gatewayBindings,
  }),
  startWorker({
    config: `${root}wrangler.toml`,
    port: accessPort,
    vars: { ...gatewayBindings, ACCESS: JSON.stringify(fifty) },
  }),
])

try {
  const cookie = await signInWithCode(gateway.url, emulator.url, 'bench@example.com')
  const accessCookie = await signInWithCode(
    withAccess.url,
    emulator.url,
    'bench-access@example.com',
  )

  // Warm all three, then alternate rounds so drift hits them alike.
  await load(`${gateway.url}/bench`, { cookie }, 1)
  await load(`${bare.url}/bench`, {}, 1)
  await load(`${withAccess.url}/bench`, { cookie: accessCookie }, 1)
  const gatewayRuns: LoadResult[] = []
  const bareRuns: LoadResult[] = []
  const accessRuns: LoadResult[] = []
  for (let round = 0; round < ROUNDS; round++) {
    bareRuns.push(await load(`${bare.url}/bench`, {}))
    gatewayRuns.push(await load(`${gateway.url}/bench`, { cookie }))
    accessRuns.push(await load(`${withAccess.url}/bench`, { cookie: accessCookie }))
  }
  const authenticated = medianOf(gatewayRuns)
  const passThrough = medianOf(bareRuns)
  const authenticatedWithAccess = medianOf(accessRuns)
  const spread = (runs: LoadResult[]) =>
    `${Math.min(...runs.map((r) => r.rps)).toFixed(0)}–${Math.max(...runs.map((r) => r.rps)).toFixed(0)}`
  const decision = decisionCost(compiledFifty.access)
  const unauthenticatedApi = await load(`${gateway.url}/bench`, { accept: 'application/json' })
  const unauthenticatedBrowser = await load(`${gateway.url}/bench`, { accept: 'text/html' })

  // KV operations, counted by the wrapped binding.
  const kvCounts = async () =>
    (await (await fetch(`${counting.url}/__bench/kv`)).json()) as Record<string, number>
  const countingCookie = await signInWithCode(counting.url, emulator.url, 'counting@example.com')
  await kvCounts()
  const N = 50
  for (let i = 0; i < N; i++)
    await (
      await fetch(`${counting.url}/bench`, { headers: { cookie: countingCookie } })
    ).arrayBuffer()
  const perRequest = Object.fromEntries(
    Object.entries(await kvCounts()).map(([op, n]) => [op, n / N]),
  )
  await signInWithCode(counting.url, emulator.url, 'counting-code@example.com')
  const perCodeSignIn = await kvCounts()
  await signInWithLink(counting.url, emulator.url, 'counting-link@example.com')
  const perLinkSignIn = await kvCounts()

  // WorkOS round trips per sign-in, counted by the emulator (the browser's own GET of the link
  // is the person's, not the gateway's).
  const stats = async () =>
    (await (await fetch(`${emulator.url}/__stats`)).json()) as { byRoute: Record<string, number> }
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(b)
        .map(([k, v]) => [k, v - (a[k] ?? 0)])
        .filter(([, v]) => (v as number) > 0),
    )
  let before = (await stats()).byRoute
  await signInWithCode(gateway.url, emulator.url, 'trips-code@example.com')
  const codeTrips = diff(before, (await stats()).byRoute)
  before = (await stats()).byRoute
  await signInWithLink(gateway.url, emulator.url, 'trips-link@example.com')
  const linkTrips = diff(before, (await stats()).byRoute)
  const gatewayCalls = (trips: Record<string, number>) =>
    Object.entries(trips)
      .filter(([route]) => !route.includes('/confirm'))
      .reduce((n, [, v]) => n + v, 0)

  const crypto = await cryptoCosts()
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    settings: {
      connections: CONNECTIONS,
      durationSeconds: DURATION_S,
      rounds: ROUNDS,
      quick,
      logRequests: gatewayBindings.LOG_REQUESTS,
    },
    authenticated,
    passThrough,
    authenticatedWithAccess50: authenticatedWithAccess,
    throughputRatio: authenticated.rps / passThrough.rps,
    throughputRatioWithAccess50: authenticatedWithAccess.rps / passThrough.rps,
    rpsSpread: {
      gateway: spread(gatewayRuns),
      passThrough: spread(bareRuns),
      gatewayWithAccess50: spread(accessRuns),
    },
    accessDecision50RoutesMicros: decision,
    p50OverheadMs: authenticated.p50 - passThrough.p50,
    unauthenticatedApi,
    unauthenticatedBrowser,
    kvPerAuthenticatedRequest: perRequest,
    kvPerSignIn: { code: perCodeSignIn, link: perLinkSignIn },
    workosRoundTripsPerSignIn: {
      code: { fromGateway: gatewayCalls(codeTrips), byRoute: codeTrips },
      link: { fromGateway: gatewayCalls(linkTrips), byRoute: linkTrips },
    },
    bundle,
    startupMs: { gateway: gateway.startupMs, passThrough: bare.startupMs },
    crypto,
  }
  writeFileSync(`${results}latest.json`, JSON.stringify(report, null, 2))

  const f = (n: number, d = 1) => n.toFixed(d)
  const row = (name: string, r: LoadResult) =>
    `| ${name} | ${f(r.rps, 0)} | ${f(r.p50)} | ${f(r.p99)} | ${r.requests} | ${r.errors} |`
  console.log(`
| path | req/s | p50 ms | p99 ms | requests | errors |
| --- | --- | --- | --- | --- | --- |
${row('gateway, signed in (proxied)', authenticated)}
${row('gateway, signed in, ACCESS of 50 routes (last one matches)', authenticatedWithAccess)}
${row('bare pass-through', passThrough)}
${row('gateway, no session, API (401)', unauthenticatedApi)}
${row('gateway, no session, browser (302)', unauthenticatedBrowser)}

| measure | value |
| --- | --- |
| throughput, gateway / bare | ${f(report.throughputRatio * 100)} % (budget ≥ 90 %); req/s spread over rounds: gateway ${report.rpsSpread.gateway}, bare ${report.rpsSpread.passThrough} |
| throughput, gateway with 50 routes / bare | ${f(report.throughputRatioWithAccess50 * 100)} % (spread ${report.rpsSpread.gatewayWithAccess50} req/s) |
| access decision, 50 routes (Node) | ${f(decision.micros, 2)} µs per request (min–max of 5 rounds ${f(decision.min, 2)}–${f(decision.max, 2)}) |
| p50 overhead | ${f(report.p50OverheadMs, 2)} ms (budget < 1 ms) |
| KV per signed-in request | ${f(perRequest.get ?? 0, 2)} reads, ${f(perRequest.put ?? 0, 2)} writes |
| KV per sign-in (code / link) | ${perCodeSignIn.get}/${perLinkSignIn.get} reads, ${perCodeSignIn.put}/${perLinkSignIn.put} writes, ${perCodeSignIn.delete}/${perLinkSignIn.delete} deletes |
| WorkOS calls per sign-in | code ${gatewayCalls(codeTrips)}, link ${gatewayCalls(linkTrips)} (+ the person's own GET of the link) |
| bundle (minified) | ${f(bundle.rawBytes / 1024)} KiB raw, ${f(bundle.gzipBytes / 1024)} KiB gzip (budget ≤ 100 KB, DESIGN.md) |
| bundle by package (raw) | ${Object.entries(bundle.byPackageRawBytes)
    .map(([k, v]) => `${k} ${f(v / 1024)} KiB`)
    .join(', ')} |
| startup to first answer | gateway ${f(gateway.startupMs, 0)} ms, bare ${f(bare.startupMs, 0)} ms (workerd start included) |
| signed-cookie check | ${f(crypto.cookieCheckMicros, 1)} µs |
| assertion signature (ES256) | ${f(crypto.assertionSignMicros, 1)} µs |

Written to bench/results/latest.json (${report.date}, ${report.machine.cpus} × ${report.machine.cpu}).`)
} finally {
  for (const worker of [gateway, bare, counting, withAccess]) worker.stop()
  origin.close()
  await emulator.close()
}
