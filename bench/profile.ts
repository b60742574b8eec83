// `node bench/profile.ts [run id] [n]` (through npm's Node 22: `npm exec -- node bench/profile.ts`):
// a V8 CPU profile of one in-isolate scenario (bench/scenarios.ts; default signed-in/errors), taken
// through wrangler dev's inspector while the bench Worker runs it n times (default 5000). Prints
// the functions with the most self time and the modules they belong to, and writes the profile to
// bench/results/profile-<run>.cpuprofile (open it in Chrome DevTools' Performance panel).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { freePort } from '../e2e/dev-server.ts'
import { RUNS } from './scenarios.ts'
import { startWorker } from './wrangler-dev.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const root = fileURLToPath(new URL('..', import.meta.url))
const runId = process.argv[2] ?? 'signed-in/errors'
const n = Number(process.argv[3] ?? 5000)
const run = RUNS.find((r) => r.id === runId)
if (!run) throw new Error(`no such run: ${runId} (one of ${RUNS.map((r) => r.id).join(', ')})`)

const worker = await startWorker({
  config: `${root}bench/isolate.wrangler.toml`,
  port: await freePort(),
})
// Stopped on Ctrl-C too: wrangler dev would otherwise outlive this script.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    worker.stop()
    process.exit(130)
  })
try {
  const query = new URLSearchParams({
    scenario: run.scenario.key,
    ...(run.log && { log: run.log }),
  })
  const runOnce = async (count: number) => {
    const response = await fetch(`${worker.url}/__bench/run?${query}&n=${count}`)
    const body = (await response.json()) as { mismatches?: number }
    if (!response.ok || body.mismatches) throw new Error(`${runId}: ${JSON.stringify(body)}`)
  }
  await runOnce(1000) // warm: sessions made, code optimised

  const targets = (await (await fetch(`http://127.0.0.1:${worker.inspectorPort}/json`)).json()) as {
    webSocketDebuggerUrl: string
  }[]
  // The `ws` client: wrangler's inspector proxy refuses Node's built-in WebSocket.
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('error', reject)
  })
  let nextId = 1
  const pending = new Map<number, { needsResult: boolean; resolve: (result: unknown) => void }>()
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: unknown }
    const waiting = message.id === undefined ? undefined : pending.get(message.id)
    if (!waiting) return
    if (message.error) throw new Error(`inspector: ${JSON.stringify(message.error)}`)
    // wrangler's proxy answers some commands only by echoing them back (no `result`).
    if (waiting.needsResult && !('result' in message)) return
    pending.delete(message.id!)
    waiting.resolve(message.result)
  })
  const send = <T>(method: string, params: object = {}, needsResult = false) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++
      const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${method}`)), 60_000)
      pending.set(id, {
        needsResult,
        resolve: (result) => {
          clearTimeout(timer)
          resolve(result as T)
        },
      })
      socket.send(JSON.stringify({ id, method, params }))
    })

  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: 50 })
  await send('Profiler.start')
  await runOnce(n)
  const { profile } = await send<{ profile: Profile }>('Profiler.stop', {}, true)
  socket.close()

  mkdirSync(`${root}bench/results`, { recursive: true })
  const file = `${root}bench/results/profile-${runId.replace('/', '-')}.cpuprofile`
  writeFileSync(file, JSON.stringify(profile))

  // Which module a bundle line belongs to: esbuild starts each one with a `// path` comment.
  const modules: { line: number; name: string }[] = []
  readFileSync(worker.script, 'utf8')
    .split('\n')
    .forEach((text, line) => {
      const match = /^\/\/ (\S+\.(?:[cm]?js|ts|tsx))$/.exec(text)
      if (match) modules.push({ line, name: match[1]!.replace(/^(\.\.\/)+/, '') })
    })
  const moduleOf = (frame: ProfileNode['callFrame']) => {
    if (!frame.url.includes(worker.script.split('/').pop()!)) return frame.url || '(native)'
    let name = '(bundle)'
    for (const m of modules) if (m.line <= frame.lineNumber) name = m.name
    return name
  }

  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) =>
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  )
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const idle = [...self.entries()]
    .filter(([id]) => /^\((idle|program)\)$/.test(byId.get(id)!.callFrame.functionName))
    .reduce((sum, [, v]) => sum + v, 0)
  const busy = total - idle
  const byFunction = new Map<string, number>()
  const byModule = new Map<string, number>()
  for (const [id, micros] of self) {
    const frame = byId.get(id)!.callFrame
    if (/^\((idle|program)\)$/.test(frame.functionName)) continue
    const module = moduleOf(frame)
    const key = `${frame.functionName || '(anonymous)'}  ${module}:${frame.lineNumber + 1}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros)
    byModule.set(module, (byModule.get(module) ?? 0) + micros)
  }
  const top = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(
        ([key, micros]) =>
          `| ${key} | ${(micros / n).toFixed(1)} | ${((100 * micros) / busy).toFixed(1)} % |`,
      )
      .join('\n')
  console.log(`Profile of ${runId}, ${n} requests in one call: ${(busy / n).toFixed(0)} µs of samples per request (the sampler's wall clock, not CPU ticks; (idle) and (program) left out).

| function (self time)  module:line of the bundle | µs per request | share |
| --- | --- | --- |
${top(byFunction, 30)}

| module (self time) | µs per request | share |
| --- | --- | --- |
${top(byModule, 20)}

Written to ${file.slice(root.length)}.`)
} finally {
  worker.stop()
}
