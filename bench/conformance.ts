// `npm run conformance [-- --single]`: the MCP project's own conformance suite
// (@modelcontextprotocol/conformance, server scenarios) against its reference server, three ways:
// - direct:  the suite talks to the reference server itself;
// - bare:    through a bare pass-through Worker (bench/passthrough/) under `wrangler dev`;
// - gateway: through a bearer-protected route of `npm run dev`, with a token minted as a person
//            mints one (the login CLI's device grant, approved by a person signed in with a code
//            from the dev mailbox).
// The suite has no way to send a header of its own, so a small local proxy adds
// `Authorization: Bearer …` in front of the gateway and changes nothing else: bodies stream both
// ways, and the client's Host reaches the gateway as the suite sent it (the DNS-rebinding
// scenario sends an attacker's Host on purpose).
//
// It fails when the gateway route fails a check the bare Worker passes. By default each scenario
// runs in its own suite process (`--single` runs the whole suite in one process per target): the
// reference server at v0.1.16 sends its sampling and elicitation requests on the standalone SSE
// stream, which the client opens without waiting, so in a long run behind any proxy that request
// can be lost and the tool call time out (fixed upstream after v0.1.16). Writes
// bench/results/conformance-latest.json.
import { build } from 'esbuild'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, Agent, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, startDevServer, type DevServer } from '../e2e/dev-server.ts'
import { mintAccessToken } from '../e2e/person.ts'
import { startWorker, type RunningWorker } from './wrangler-dev.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const suiteCli = `${root}node_modules/@modelcontextprotocol/conformance/dist/index.js`
const single = process.argv.includes('--single')
// Scenarios `conformance list --server` shows that the default ("active") suite leaves out.
const PENDING = new Set(['json-schema-2020-12', 'server-sse-polling'])

type Status = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED'
/** scenario → check id → status, for one target. */
type Outcome = Map<string, Map<string, Status>>

const started: { stop(): unknown }[] = []
const work = mkdtempSync(join(tmpdir(), 'gateway-conformance-'))

try {
  const server = await startReferenceServer()
  console.log(`reference server on ${server.url}`)
  const [bare, gateway] = await Promise.all([startBare(server.origin), startGateway(server.origin)])
  const token = await mintAccessToken(
    gateway.url,
    `${gateway.url}/mcp`,
    `conformance-${Date.now().toString(36)}@example.com`,
  )
  const proxy = await startBearerProxy(gateway.url, token)
  const targets = {
    direct: server.url,
    bare: `${bare.url}/mcp`,
    gateway: `${proxy}/mcp`,
  }
  const outcomes: Record<string, Outcome> = {}
  for (const [name, url] of Object.entries(targets)) {
    const began = performance.now()
    outcomes[name] = await runSuite(url, join(work, name))
    const { passed, total } = count(outcomes[name])
    console.log(
      `${name.padEnd(8)} ${passed}/${total} checks passed (${((performance.now() - began) / 1000).toFixed(1)} s)`,
    )
  }
  const shortfalls = report(outcomes)
  const summary = Object.fromEntries(
    Object.entries(outcomes).map(([name, outcome]) => [
      name,
      {
        ...count(outcome),
        failed: [...outcome].flatMap(([scenario, checks]) =>
          [...checks].filter(([, s]) => s === 'FAILURE').map(([id]) => `${scenario}/${id}`),
        ),
      },
    ]),
  )
  mkdirSync(`${root}bench/results`, { recursive: true })
  writeFileSync(
    `${root}bench/results/conformance-latest.json`,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        suite: '@modelcontextprotocol/conformance 0.1.16',
        mode: single ? 'one process per target' : 'one process per scenario',
        targets: summary,
        gatewayShortOfBare: shortfalls,
      },
      null,
      2,
    ) + '\n',
  )
  if (shortfalls.length) {
    console.error(
      `\nThe gateway route failed checks the bare Worker passed: ${shortfalls.join(', ')}`,
    )
    process.exitCode = 1
  } else {
    console.log('\nThe gateway route passed every check the bare Worker passed.')
  }
} finally {
  for (const running of started.reverse()) await running.stop()
  rmSync(work, { recursive: true, force: true })
}

/**
 * The suite's reference server (bench/conformance/everything-server.ts, as published at tag
 * v0.1.16), compiled with esbuild: it imports types without `import type`, which Node's type
 * stripping cannot tell from values. It runs on this repository's own MCP SDK, express and zod.
 */
async function startReferenceServer(): Promise<{ url: string; origin: string }> {
  const cache = `${root}node_modules/.cache/mcp-conformance`
  mkdirSync(cache, { recursive: true })
  const compiled = `${cache}/everything-server.mjs`
  await build({
    entryPoints: [`${root}bench/conformance/everything-server.ts`],
    outfile: compiled,
    format: 'esm',
    platform: 'node',
    logLevel: 'error',
  })
  const port = await freePort()
  const child = spawn(process.execPath, [compiled], {
    env: { ...process.env, PORT: String(port) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  started.push({ stop: () => killGroup(child.pid!) })
  await new Promise<void>((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`reference server:\n${output}`)), 30_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('running on')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('exit', (code) => reject(new Error(`reference server exited ${code}:\n${output}`)))
  })
  // The server checks Host against localhost names, as its SDK's express app does by default.
  return { url: `http://localhost:${port}/mcp`, origin: `http://127.0.0.1:${port}` }
}

async function startBare(origin: string): Promise<RunningWorker> {
  const worker = await startWorker({
    config: 'bench/passthrough/wrangler.toml',
    port: await freePort(),
    vars: { ORIGIN_URL: origin },
  })
  started.push(worker)
  return worker
}

/** `npm run dev` with /mcp behind a route that takes bearer tokens (the default for a route). */
async function startGateway(origin: string): Promise<DevServer> {
  const access = {
    routes: [
      { name: 'mcp', path: '/mcp/*', origin },
      { name: 'app', path: '/*' },
    ],
  }
  const gateway = await startDevServer(['--var', `ACCESS:${JSON.stringify(access)}`])
  started.push(gateway)
  return gateway
}

/**
 * A local proxy that adds the token to every request and forwards it to the gateway unchanged,
 * streaming both ways. A Host naming the proxy itself becomes the gateway's, any other (an
 * attacker's) is kept.
 */
async function startBearerProxy(upstream: string, token: string): Promise<string> {
  const target = new URL(upstream)
  const port = await freePort()
  const own = new Set([`127.0.0.1:${port}`, `localhost:${port}`])
  const agent = new Agent({ keepAlive: true })
  const proxy: Server = createServer((incoming, outgoing) => {
    const headers = { ...incoming.headers, authorization: `Bearer ${token}` }
    if (own.has(String(headers.host))) headers.host = target.host
    const forwarded = request(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers,
        agent,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.rawHeaders)
        outgoing.flushHeaders()
        answer.pipe(outgoing)
      },
    )
    forwarded.on('error', (error) => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' })
      outgoing.end(`bearer proxy: ${error.message}`)
    })
    outgoing.on('close', () => forwarded.destroy())
    incoming.pipe(forwarded)
  })
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve))
  started.push({
    stop: () => {
      proxy.closeAllConnections()
      agent.destroy()
      return new Promise((resolve) => proxy.close(resolve))
    },
  })
  return `http://127.0.0.1:${port}`
}

/** Runs the active suite against `url` and reads every scenario's checks.json. */
async function runSuite(url: string, out: string): Promise<Outcome> {
  if (single) {
    await suite(['server', '--url', url, '-o', out])
  } else {
    const listing = await suite(['list', '--server'])
    const scenarios = [...listing.matchAll(/^\s+- (\S+)/gm)]
      .map((match) => match[1]!)
      .filter((scenario) => !PENDING.has(scenario))
    for (const scenario of scenarios) {
      await suite(['server', '--url', url, '--scenario', scenario, '-o', out])
    }
  }
  const outcome: Outcome = new Map()
  // One folder per scenario run: server-<scenario>-<ISO timestamp>/checks.json.
  for (const folder of readdirSync(out).sort()) {
    const scenario = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(folder)?.[1]
    if (!scenario) continue
    const checks = JSON.parse(readFileSync(join(out, folder, 'checks.json'), 'utf8')) as {
      id: string
      status: Status
    }[]
    outcome.set(
      scenario,
      new Map(
        checks
          .filter((check) => check.status === 'SUCCESS' || check.status === 'FAILURE')
          .map((check) => [check.id, check.status]),
      ),
    )
  }
  return outcome
}

/** One run of the suite's CLI; resolves with its output whatever it exits with (failures are data). */
function suite(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [suiteCli, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000)
    child.on('exit', () => {
      clearTimeout(timer)
      resolve(output)
    })
  })
}

function count(outcome: Outcome): { passed: number; total: number } {
  let passed = 0
  let total = 0
  for (const checks of outcome.values()) {
    for (const status of checks.values()) {
      total++
      if (status === 'SUCCESS') passed++
    }
  }
  return { passed, total }
}

/** Prints one row per scenario; returns the checks the bare Worker passed and the gateway did not. */
function report(outcomes: Record<string, Outcome>): string[] {
  const names = Object.keys(outcomes)
  const scenarios = [...new Set(names.flatMap((name) => [...outcomes[name]!.keys()]))]
  const cell = (name: string, scenario: string) => {
    const checks = outcomes[name]!.get(scenario)
    if (!checks) return 'not run'
    const passed = [...checks.values()].filter((status) => status === 'SUCCESS').length
    return `${passed}/${checks.size}`
  }
  console.log(`\n${'scenario'.padEnd(32)}${names.map((name) => name.padStart(10)).join('')}`)
  for (const scenario of scenarios) {
    console.log(
      `${scenario.padEnd(32)}${names.map((name) => cell(name, scenario).padStart(10)).join('')}`,
    )
  }
  const shortfalls: string[] = []
  for (const [scenario, checks] of outcomes.bare!) {
    for (const [id, status] of checks) {
      if (status !== 'SUCCESS') continue
      if (outcomes.gateway!.get(scenario)?.get(id) !== 'SUCCESS')
        shortfalls.push(`${scenario}/${id}`)
    }
  }
  return shortfalls
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}
