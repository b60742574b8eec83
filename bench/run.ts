// `npm run bench [-- --quick | --isolate-only]`: what the gateway costs, on this machine, in one run.
// - In-isolate (bench/isolate.ts): workerd CPU per request of the gateway's real fetch handler and
//   of a bare pass-through handler, each run thousands of times inside one request against an
//   in-memory origin, read from /proc around each call. Microsecond resolution, free of wrangler's
//   plumbing and of the load generator.
// - End to end: the gateway and a bare pass-through Worker (bench/passthrough/) in front of the
//   same local origin under `wrangler dev`, loaded by autocannon in alternating rounds; req/s,
//   p50/p99 and workerd CPU per request, as medians with the min–max of the rounds.
// - KV operations, WorkOS calls, the bundle, and a few primitives timed in Node.
// Prints tables, writes bench/results/latest.json and appends bench/results/history.jsonl. Not a
// test: it fails only when something breaks, never for being slow.
import autocannon from 'autocannon'
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { cpus, loadavg, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { webcrypto } from 'node:crypto'
import { freePort } from '../e2e/dev-server.ts'
import { startEmulator } from '../emulator/server.ts'
import { checkPath, compileAccess, evaluate, type CompiledAccess } from '../src/access/index.ts'
import { appendHistory, readHistory, revision, type Headline } from './history.ts'
import { isolateTable, measureInIsolate, type IsolateResult } from './isolate.ts'
import { fiftyRoutes, smallPolicy } from './policies.ts'
import type { Run } from './scenarios.ts'
import { formatSpread, rotate, spread, type Spread } from './stats.ts'
import {
  cpuBetween,
  removeSnapshot,
  snapshot,
  startWorker,
  type RunningWorker,
} from './wrangler-dev.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const results = `${root}bench/results/`
const historyFile = `${results}history.jsonl`
const quick = process.argv.includes('--quick')
const isolateOnly = process.argv.includes('--isolate-only')
const mode: Headline['mode'] = isolateOnly ? 'isolate-only' : quick ? 'quick' : 'full'
const DURATION_S = quick ? 2 : 6
const ROUNDS = quick ? 3 : 5
const FULL_ROUNDS = 5
const CONNECTIONS = 8
// --scenarios=signed-in,access-50: only these in-isolate scenarios (and the bare handler), for a
// quick look while working on the hot path.
const chosen = process.argv
  .find((arg) => arg.startsWith('--scenarios='))
  ?.slice('--scenarios='.length)
  .split(',')
const ISOLATE = {
  rounds: quick ? 3 : 5,
  // A log line costs about a millisecond under wrangler dev: --quick measures LOG_REQUESTS other
  // than errors for the signed-in request only, to stay short in CI.
  only: chosen
    ? (run: Run) => run.scenario.key === 'bare' || chosen.includes(run.scenario.key)
    : quick
      ? (run: Run) =>
          run.log === undefined || run.log === 'errors' || run.scenario.key === 'signed-in'
      : undefined,
  targetCallMs: quick ? 250 : 800,
  minN: quick ? 1000 : 2000,
  maxN: 100_000,
  calibrationN: quick ? 300 : 1000,
}
mkdirSync(results, { recursive: true })

// ---- the deployable bundle -------------------------------------------------------------------
const quietWranglerEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
}

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
    { cwd: root, stdio: 'pipe', env: quietWranglerEnv },
  )
  const code = readFileSync(`${results}dist/index.js`)
  const meta = JSON.parse(readFileSync(`${results}dist/meta.json`, 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>
  }
  const inputs = Object.values(meta.outputs).find((o) => Object.keys(o.inputs).length > 0)!.inputs
  const byPackage: Record<string, number> = {}
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const match = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(path)
    // build/<name>/: a package rebuilt at install (the slimmed WorkOS SDK, scripts/slim-workos.ts).
    const built = /^build\/([^/]+)\//.exec(path)
    const name = match ? match[1]! : built ? `build/${built[1]}` : 'src (the gateway)'
    byPackage[name] = (byPackage[name] ?? 0) + bytesInOutput
  }
  return {
    rawBytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    byPackageRawBytes: Object.fromEntries(Object.entries(byPackage).sort((a, b) => b[1] - a[1])),
    startup: checkStartup(),
  }
}

/**
 * `wrangler check startup` on the same build (minified), five times: the CPU its top level takes in a local
 * workerd (what Cloudflare limits at deploy), as wrangler's profile reports it ("Active", which
 * leaves out idle time; sampled coarsely, a few ms per sample).
 */
function checkStartup() {
  const active = Array.from({ length: 5 }, () => {
    const output = execFileSync(
      process.execPath,
      [
        `${root}node_modules/wrangler/bin/wrangler.js`,
        'check',
        'startup',
        // It builds the Worker itself, as `npm run build` does.
        '--args=--minify',
        '--outfile',
        `${results}dist/startup.cpuprofile`,
      ],
      { cwd: root, stdio: 'pipe', env: quietWranglerEnv },
    ).toString()
    const match = /Active:\s*([\d.]+)\s*ms/.exec(output)
    if (!match) throw new Error(`wrangler check startup printed no "Active" time:\n${output}`)
    return Number(match[1])
  })
  return { activeMs: spread(active) }
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

// ---- measurements ----------------------------------------------------------------------------
interface LoadResult {
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
  requests: number
  /** workerd CPU per request served, µs (NaN when a workerd process was replaced meanwhile). */
  workerdMicros: number
  /** wrangler's own Node processes per request served, µs. */
  nodeMicros: number
}

async function load(
  worker: RunningWorker,
  path: string,
  headers: Record<string, string>,
  seconds = DURATION_S,
): Promise<LoadResult> {
  const before = await worker.settledCpu()
  const result = await autocannon({
    url: `${worker.url}${path}`,
    connections: CONNECTIONS,
    duration: seconds,
    headers,
  })
  const cpu = cpuBetween(before, await worker.settledCpu())
  const requests = result.requests.total
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests,
    workerdMicros: cpu && requests > 0 ? cpu.workerdMicros / requests : Number.NaN,
    nodeMicros: cpu && requests > 0 ? cpu.nodeMicros / requests : Number.NaN,
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
 * The decision alone, in Node (the same pure code the Worker runs): µs per request for checkPath
 * plus evaluate over 50 routes, the matching route last. workerd's clock does not move during CPU
 * work, so this part is timed here; the in-isolate measurement has the whole request.
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
  return spread(rounds)
}

// ---- the run ---------------------------------------------------------------------------------
const fifty = fiftyRoutes()
const compiledFifty = compileAccess(fifty)
if (!compiledFifty.ok)
  throw new Error(`bench ACCESS is invalid: ${compiledFifty.problems.join('; ')}`)
const compiledSmall = compileAccess(smallPolicy())
if (!compiledSmall.ok)
  throw new Error(`bench ACCESS (small) is invalid: ${compiledSmall.problems.join('; ')}`)

// The previous figures: the latest run that has them (an --isolate-only run has no end to end).
const history = readHistory(historyFile)
const previous = history.at(-1)
const previousEndToEnd = history.findLast((entry) => entry.throughputRatio !== undefined)
/** Each figure from the latest run that has it (a quick run measures fewer). */
const latestOf = (pick: (entry: Headline) => Record<string, number> | undefined) =>
  Object.assign({}, ...history.map((entry) => pick(entry) ?? {})) as Record<string, number>
const loadAverageAtStart = loadavg()
console.log(
  `bench: ${mode} run. In-isolate: ${ISOLATE.rounds} rounds${quick ? ' (quick: a full run has 5, with larger n, and LOG_REQUESTS=all for every scenario)' : ''}.` +
    (isolateOnly
      ? ''
      : ` End to end: ${CONNECTIONS} connections, ${DURATION_S} s × ${ROUNDS} rounds${quick ? ` (quick: a full run has ${FULL_ROUNDS} rounds of 6 s)` : ''}.`),
)

const [
  originPort,
  emulatorPort,
  gatewayPort,
  gatewayAllPort,
  barePort,
  countingPort,
  accessPort,
  isolatePort,
] = (await Promise.all(Array.from({ length: 8 }, () => freePort()))) as number[] as [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
]
const bundle = isolateOnly ? undefined : bundleSize()
// One snapshot of the gateway for every Worker that runs it, taken before any starts.
const gatewayScript = isolateOnly ? undefined : snapshot(`${root}wrangler.toml`)
const cleanups: (() => unknown)[] = []
if (gatewayScript) cleanups.push(() => removeSnapshot(gatewayScript))
const started = <T extends { stop: () => unknown }>(thing: T): T => {
  cleanups.push(() => thing.stop())
  return thing
}

try {
  // Started first (its snapshot is taken now, with the gateway's), measured before the others run.
  const isolateStarting = startWorker({
    config: `${root}bench/isolate.wrangler.toml`,
    port: isolatePort,
  }).then(started)
  const e2e = isolateOnly
    ? undefined
    : await (async () => {
        const origin = await startOrigin(originPort)
        cleanups.push(() => origin.close())
        const emulator = await startEmulator({
          port: emulatorPort,
          apiKey: 'sk_test_emulator',
          clientId: 'client_emulator',
          emailApiKey: 're_dev_emulator',
          redirectUris: [],
        })
        cleanups.push(() => emulator.close())
        const originUrl = `http://127.0.0.1:${originPort}`
        const gatewayBindings = {
          DEV_MODE: 'true',
          WORKOS_API_URL: emulator.url,
          ORIGIN_URL: originUrl,
          SESSION_SECRET: 'bench-session-secret-0123456789-abcdefghij',
          LOG_REQUESTS: 'errors',
        }
        const gatewayConfig = `${root}wrangler.toml`
        const [bare, gateway, gatewayAll, counting, withAccess] = await Promise.all([
          startWorker({
            config: `${root}bench/passthrough/wrangler.toml`,
            port: barePort,
            vars: { ORIGIN_URL: originUrl },
          }).then(started),
          startWorker({
            config: gatewayConfig,
            script: gatewayScript,
            port: gatewayPort,
            vars: gatewayBindings,
          }).then(started),
          startWorker({
            config: gatewayConfig,
            script: gatewayScript,
            port: gatewayAllPort,
            vars: { ...gatewayBindings, LOG_REQUESTS: 'all' },
          }).then(started),
          startWorker({
            config: `${root}bench/counting.wrangler.toml`,
            port: countingPort,
            vars: gatewayBindings,
          }).then(started),
          startWorker({
            config: gatewayConfig,
            script: gatewayScript,
            port: accessPort,
            vars: { ...gatewayBindings, ACCESS: JSON.stringify(fifty) },
          }).then(started),
        ])
        return { emulator, bare, gateway, gatewayAll, counting, withAccess }
      })()

  // ---- in-isolate ------------------------------------------------------------------------------
  const isolateWorker = await isolateStarting
  const isolate: IsolateResult = await measureInIsolate(isolateWorker, ISOLATE, (line) =>
    console.log(`bench: ${line}`),
  )
  isolateWorker.stop()

  // ---- end to end --------------------------------------------------------------------------------
  const endToEnd = e2e ? await endToEndRounds(e2e) : undefined
  const counts = e2e ? await countOperations(e2e) : undefined
  const decision = decisionCost(compiledFifty.access)
  const crypto = await cryptoCosts()
  const { commit, dirty } = revision(root)

  const report = {
    date: new Date().toISOString(),
    mode,
    commit,
    dirty,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      // Other work on the machine slows the bench's processes (shared cores and caches); the
      // 1, 5 and 15 minute load averages at the start and the end say how busy it was.
      loadAverage: { start: loadAverageAtStart, end: loadavg() },
    },
    settings: {
      quick,
      inIsolate: ISOLATE,
      endToEnd: e2e
        ? { connections: CONNECTIONS, durationSeconds: DURATION_S, rounds: ROUNDS }
        : undefined,
    },
    inIsolate: isolate,
    endToEnd,
    accessDecision50RoutesMicrosInNode: decision,
    ...counts,
    bundle,
    startupMs: e2e && { gateway: e2e.gateway.startupMs, passThrough: e2e.bare.startupMs },
    crypto,
  }
  const headline: Headline = {
    date: report.date,
    mode,
    commit,
    dirty,
    isolateMicros: Object.fromEntries(isolate.runs.map((r) => [r.id, round1(r.micros.median)])),
    isolateOverBareMicros: Object.fromEntries(
      isolate.runs.flatMap((r) =>
        r.overBareMicros ? [[r.id, round1(r.overBareMicros.median)]] : [],
      ),
    ),
    ...(endToEnd && {
      throughputRatio: Object.fromEntries(
        Object.entries(endToEnd.paths).map(([key, p]) => [key, round3(p.ratioToBare.median)]),
      ),
      workerdMicrosPerRequest: Object.fromEntries(
        Object.entries(endToEnd.paths).map(([key, p]) => [
          key,
          round1(p.workerdMicrosPerRequest.median),
        ]),
      ),
    }),
    ...(bundle && { bundleGzipBytes: bundle.gzipBytes }),
  }
  writeFileSync(
    `${results}${isolateOnly ? 'isolate-latest.json' : 'latest.json'}`,
    // The runs before this one, newest last, so a regression shows in the file itself.
    JSON.stringify({ ...report, previousRuns: history.slice(-10) }, null, 2),
  )
  appendHistory(historyFile, headline)

  // ---- the tables --------------------------------------------------------------------------------
  const describe = (entry: Headline) =>
    `${entry.date} (${entry.mode}${entry.commit ? `, ${entry.commit}${entry.dirty ? ' with changes' : ''}` : ''})`
  console.log(
    `\nLoad average (1/5/15 min) at the start ${loadAverageAtStart.map((l) => l.toFixed(2)).join('/')}, at the end ${report.machine.loadAverage.end.map((l) => l.toFixed(2)).join('/')} on ${report.machine.cpus} CPUs.`,
  )
  console.log(
    previous
      ? `Previous runs (bench/results/history.jsonl; each figure from the latest run that has it): in-isolate ${describe(previous)}${previousEndToEnd && !isolateOnly ? `; end to end ${describe(previousEndToEnd)}` : ''}.\n`
      : 'No previous run in bench/results/history.jsonl.\n',
  )
  console.log(
    isolateTable(
      isolate,
      latestOf((entry) => entry.isolateOverBareMicros),
    ),
  )
  if (endToEnd && counts && bundle && e2e)
    console.log(
      endToEndTables(
        endToEnd,
        counts,
        bundle,
        decision,
        crypto,
        e2e,
        latestOf((entry) => entry.throughputRatio),
      ),
    )
  else
    console.log(
      `\nAccess decision, 50 routes, in Node: ${formatSpread(decision, 2)} µs.\nWritten to bench/results/isolate-latest.json.`,
    )
} finally {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup()
    } catch {
      // best effort: the rest still stops
    }
  }
}

// ---- end to end: rounds under wrangler dev ------------------------------------------------------
type Workers = {
  emulator: { url: string }
  bare: RunningWorker
  gateway: RunningWorker
  gatewayAll: RunningWorker
  counting: RunningWorker
  withAccess: RunningWorker
}

interface PathSummary {
  label: string
  rps: Spread
  ratioToBare: Spread
  p50Ms: Spread
  p99Ms: Spread
  p50OverBareMs: Spread
  workerdMicrosPerRequest: Spread
  overBareWorkerdMicros: Spread
  wranglerNodeMicrosPerRequest: Spread
  requests: number
  errors: number
  non2xx: number
}

async function endToEndRounds(w: Workers) {
  const cookie = await signInWithCode(w.gateway.url, w.emulator.url, 'bench@example.com')
  const cookieAll = await signInWithCode(w.gatewayAll.url, w.emulator.url, 'bench-all@example.com')
  const accessCookie = await signInWithCode(
    w.withAccess.url,
    w.emulator.url,
    'bench-access@example.com',
  )
  const paths: {
    key: string
    label: string
    worker: RunningWorker
    headers: Record<string, string>
  }[] = [
    { key: 'passThrough', label: 'bare pass-through', worker: w.bare, headers: {} },
    {
      key: 'gatewayErrors',
      label: 'gateway, signed in (proxied), LOG_REQUESTS=errors',
      worker: w.gateway,
      headers: { cookie },
    },
    {
      key: 'gatewayAll',
      label: 'gateway, signed in (proxied), LOG_REQUESTS=all',
      worker: w.gatewayAll,
      headers: { cookie: cookieAll },
    },
    {
      key: 'gatewayAccess50',
      label: 'gateway, signed in, ACCESS of 50 routes (errors)',
      worker: w.withAccess,
      headers: { cookie: accessCookie },
    },
    {
      key: 'unauthenticatedApi',
      label: 'gateway, no session, API (401, errors: logged)',
      worker: w.gateway,
      headers: { accept: 'application/json' },
    },
    {
      key: 'unauthenticatedBrowser',
      label: 'gateway, no session, browser (302, errors: not logged)',
      worker: w.gateway,
      headers: { accept: 'text/html' },
    },
  ]
  // Warm every path, then alternate, each round starting elsewhere, so drift hits all alike.
  for (const p of paths) await load(p.worker, '/bench', p.headers, 1)
  const runs = new Map<string, LoadResult[]>(paths.map((p) => [p.key, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of rotate(paths, round))
      runs.get(p.key)!.push(await load(p.worker, '/bench', p.headers))
    console.log(`bench: end-to-end round ${round + 1}/${ROUNDS} done`)
  }
  // A path that served nothing, or failed some requests, measured something else (a Worker that
  // did not start, a port another process answers on): refuse the run rather than report it.
  for (const p of paths) {
    const failed = runs.get(p.key)!.filter((x) => x.requests === 0 || x.errors > 0)
    if (failed.length > 0)
      throw new Error(
        `end to end: ${p.label} had ${failed.length} of ${ROUNDS} rounds with errors or no answers ` +
          `(${failed.map((x) => `${x.requests} answered, ${x.errors} errors`).join('; ')})`,
      )
  }
  const bareRuns = runs.get('passThrough')!
  const finite = (values: number[]) => values.filter((v) => Number.isFinite(v))
  const summaries: Record<string, PathSummary> = {}
  for (const p of paths) {
    const r = runs.get(p.key)!
    summaries[p.key] = {
      label: p.label,
      rps: spread(r.map((x) => x.rps)),
      ratioToBare: spread(r.map((x, i) => x.rps / bareRuns[i]!.rps)),
      p50Ms: spread(r.map((x) => x.p50)),
      p99Ms: spread(r.map((x) => x.p99)),
      p50OverBareMs: spread(r.map((x, i) => x.p50 - bareRuns[i]!.p50)),
      workerdMicrosPerRequest: spread(finite(r.map((x) => x.workerdMicros))),
      overBareWorkerdMicros: spread(
        finite(r.map((x, i) => x.workerdMicros - bareRuns[i]!.workerdMicros)),
      ),
      wranglerNodeMicrosPerRequest: spread(finite(r.map((x) => x.nodeMicros))),
      requests: r.reduce((n, x) => n + x.requests, 0),
      errors: r.reduce((n, x) => n + x.errors, 0),
      non2xx: r.reduce((n, x) => n + x.non2xx, 0),
    }
  }
  return {
    method:
      'autocannon on loopback against each wrangler dev in turn; workerd CPU = utime+stime of that ' +
      "wrangler dev's workerd processes (/proc/<pid>/stat) around each run, divided by the requests served",
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    rounds: ROUNDS,
    paths: summaries,
  }
}

// ---- KV operations and WorkOS calls ------------------------------------------------------------
async function countOperations(w: Workers) {
  // KV operations, counted by the wrapped binding.
  const kvCounts = async () =>
    (await (await fetch(`${w.counting.url}/__bench/kv`)).json()) as Record<string, number>
  const countingCookie = await signInWithCode(
    w.counting.url,
    w.emulator.url,
    'counting@example.com',
  )
  await kvCounts()
  const N = 50
  for (let i = 0; i < N; i++)
    await (
      await fetch(`${w.counting.url}/bench`, { headers: { cookie: countingCookie } })
    ).arrayBuffer()
  const perRequest = Object.fromEntries(
    Object.entries(await kvCounts()).map(([op, n]) => [op, n / N]),
  )
  await signInWithCode(w.counting.url, w.emulator.url, 'counting-code@example.com')
  const perCodeSignIn = await kvCounts()
  await signInWithLink(w.counting.url, w.emulator.url, 'counting-link@example.com')
  const perLinkSignIn = await kvCounts()

  // WorkOS round trips per sign-in, counted by the emulator (the browser's own GET of the link
  // is the person's, not the gateway's).
  const stats = async () =>
    (await (await fetch(`${w.emulator.url}/__stats`)).json()) as { byRoute: Record<string, number> }
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(b)
        .map(([k, v]) => [k, v - (a[k] ?? 0)])
        .filter(([, v]) => (v as number) > 0),
    )
  let before = (await stats()).byRoute
  await signInWithCode(w.gateway.url, w.emulator.url, 'trips-code@example.com')
  const codeTrips = diff(before, (await stats()).byRoute)
  before = (await stats()).byRoute
  await signInWithLink(w.gateway.url, w.emulator.url, 'trips-link@example.com')
  const linkTrips = diff(before, (await stats()).byRoute)
  const gatewayCalls = (trips: Record<string, number>) =>
    Object.entries(trips)
      .filter(([route]) => !route.includes('/confirm'))
      .reduce((n, [, v]) => n + v, 0)
  return {
    kvPerAuthenticatedRequest: perRequest,
    kvPerSignIn: { code: perCodeSignIn, link: perLinkSignIn },
    workosRoundTripsPerSignIn: {
      code: { fromGateway: gatewayCalls(codeTrips), byRoute: codeTrips },
      link: { fromGateway: gatewayCalls(linkTrips), byRoute: linkTrips },
    },
  }
}

// ---- printing ----------------------------------------------------------------------------------
function round1(value: number) {
  return Math.round(value * 10) / 10
}
function round3(value: number) {
  return Math.round(value * 1000) / 1000
}

function endToEndTables(
  endToEnd: Awaited<ReturnType<typeof endToEndRounds>>,
  counts: Awaited<ReturnType<typeof countOperations>>,
  bundle: ReturnType<typeof bundleSize>,
  decision: Spread,
  crypto: Awaited<ReturnType<typeof cryptoCosts>>,
  w: Workers,
  previousRatio: Record<string, number> = {},
): string {
  const f = (n: number, d = 1) => n.toFixed(d)
  const pct = (s: Spread) => `${f(s.median * 100)} % (${f(s.min * 100)}–${f(s.max * 100)})`
  const rows = Object.entries(endToEnd.paths).map(([key, p]) => {
    const bare = key === 'passThrough'
    const before = previousRatio[key]
    return `| ${p.label} | ${formatSpread(p.rps)} | ${bare ? '—' : pct(p.ratioToBare)} | ${formatSpread(p.p50Ms)} | ${formatSpread(p.p99Ms)} | ${formatSpread(p.workerdMicrosPerRequest)} | ${bare ? '—' : formatSpread(p.overBareWorkerdMicros)} | ${formatSpread(p.wranglerNodeMicrosPerRequest)} | ${p.requests} | ${p.errors} | ${bare || before === undefined ? '—' : `${f(before * 100)} %`} |`
  })
  const paths = endToEnd.paths
  const {
    kvPerAuthenticatedRequest: perRequest,
    kvPerSignIn,
    workosRoundTripsPerSignIn: trips,
  } = counts
  return `
| path (wrangler dev, end to end) | req/s, median (min–max) | ÷ bare | p50 ms | p99 ms | workerd CPU µs/req | over bare µs/req | wrangler Node µs/req | requests | errors | previous run ÷ bare |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

End to end: ${endToEnd.rounds} rounds of ${endToEnd.durationSeconds} s, ${endToEnd.connections} connections, paths alternating; ratios and "over bare" are per round, against the bare run of the same round.

| measure | value |
| --- | --- |
| throughput, gateway (errors) / bare | ${pct(paths.gatewayErrors!.ratioToBare)} (budget ≥ 95 %) |
| throughput, gateway (all) / bare | ${pct(paths.gatewayAll!.ratioToBare)} |
| throughput, gateway with 50 routes / bare | ${pct(paths.gatewayAccess50!.ratioToBare)} |
| p50 over bare (errors) | ${formatSpread(paths.gatewayErrors!.p50OverBareMs, 1)} ms |
| one log line under wrangler dev | ${f(paths.gatewayAll!.workerdMicrosPerRequest.median - paths.gatewayErrors!.workerdMicrosPerRequest.median, 0)} µs workerd + ${f(paths.gatewayAll!.wranglerNodeMicrosPerRequest.median - paths.gatewayErrors!.wranglerNodeMicrosPerRequest.median, 0)} µs wrangler Node per request (all − errors, medians) |
| access decision, 50 routes (Node) | ${formatSpread(decision, 2)} µs per request |
| KV per signed-in request | ${f(perRequest.get ?? 0, 2)} reads, ${f(perRequest.put ?? 0, 2)} writes |
| KV per sign-in (code / link) | ${kvPerSignIn.code.get}/${kvPerSignIn.link.get} reads, ${kvPerSignIn.code.put}/${kvPerSignIn.link.put} writes, ${kvPerSignIn.code.delete}/${kvPerSignIn.link.delete} deletes |
| WorkOS calls per sign-in | code ${trips.code.fromGateway}, link ${trips.link.fromGateway} (+ the person's own GET of the link) |
| bundle (minified) | ${f(bundle.rawBytes / 1024)} KiB raw, ${f(bundle.gzipBytes / 1024)} KiB gzip (budget ≤ 100 KB) |
| start-up CPU (\`wrangler check startup\`, "Active") | ${formatSpread(bundle.startup.activeMs)} ms, 5 runs |
| bundle by package (raw) | ${Object.entries(bundle.byPackageRawBytes)
    .map(([k, v]) => `${k} ${f(v / 1024)} KiB`)
    .join(', ')} |
| startup to first answer | gateway ${f(w.gateway.startupMs, 0)} ms, bare ${f(w.bare.startupMs, 0)} ms (workerd start included) |
| signed-cookie check (Node) | ${f(crypto.cookieCheckMicros, 1)} µs |
| assertion signature, ES256 (Node) | ${f(crypto.assertionSignMicros, 1)} µs |

Written to bench/results/latest.json; headline figures appended to bench/results/history.jsonl.`
}
