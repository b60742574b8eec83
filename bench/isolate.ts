// The in-isolate measurement, Node side: drives bench/isolate-worker.ts under wrangler dev and
// reads the CPU of its workerd processes around each call. One call runs n requests through the
// handler inside the isolate, so wrangler's plumbing (a few ms per call) is paid once per n
// requests; it is measured on its own (calls with n = 0) and subtracted.
import { RUNS, type Run } from './scenarios.ts'
import { formatSpread, rotate, spread, type Spread } from './stats.ts'
import { CLOCK_TICKS, cpuBetween, type RunningWorker } from './wrangler-dev.ts'

export interface IsolateOptions {
  rounds: number
  /** CPU to aim for per call: n is chosen so one call costs about this much (ticks are 10 ms). */
  targetCallMs: number
  minN: number
  maxN: number
  /** n of the one call that estimates each scenario's cost, to choose its n. */
  calibrationN: number
  /** A subset of the runs (--quick); all when unset. */
  only?: ((run: Run) => boolean) | undefined
}

export interface IsolateRunResult {
  id: string
  scenario: string
  label: string
  log: string | undefined
  n: number
  /** workerd CPU per request (plumbing subtracted), µs, over the rounds. */
  micros: Spread
  /** The same minus the bare handler's in the same round. */
  overBareMicros: Spread | undefined
  /** wrangler's Node processes per request (where LOG_REQUESTS=all lines go), µs. */
  wranglerNodeMicros: Spread
}

export interface IsolateResult {
  method: string
  clockTicksPerSecond: number
  options: Omit<IsolateOptions, 'only'>
  /** workerd and Node CPU of one /__bench/run call with n = 0, µs. */
  plumbingPerCallMicros: { workerd: number; node: number }
  /** Calls measured again because workerd was replaced or the isolate was new. */
  remeasured: number
  runs: IsolateRunResult[]
}

interface CallResult {
  isolate: string
  n: number
  mismatches: number
  firstMismatch?: { status: number; body: string }
  originRequests: number
  identifiedAtOrigin: number
  otherFetches: number
}

export const BUDGETS: Record<string, number> = {
  'signed-in/errors': 100,
  'access-50/errors': 150,
  'service-token/errors': 150,
}

export async function measureInIsolate(
  worker: RunningWorker,
  options: IsolateOptions,
  progress: (line: string) => void = () => {},
): Promise<IsolateResult> {
  let isolate: string | undefined
  let remeasured = 0
  const runs = RUNS.filter((run) => options.only?.(run) ?? true)

  async function call(run: Run, n: number): Promise<CallResult> {
    const query = new URLSearchParams({ scenario: run.scenario.key, n: String(n) })
    if (run.log) query.set('log', run.log)
    const response = await fetch(`${worker.url}/__bench/run?${query}`)
    const text = await response.text()
    if (!response.ok)
      throw new Error(`${run.id}: /__bench/run answered ${response.status}: ${text}`)
    const result = JSON.parse(text) as CallResult
    // A scenario that does not do what it says measures nothing: refuse rather than report it.
    const { expect, identified } = run.scenario
    const problems = [
      result.mismatches > 0 &&
        `${result.mismatches} of ${n} answers were not ${expect} (first: ${result.firstMismatch?.status} ${result.firstMismatch?.body})`,
      result.originRequests !== (expect === 200 ? n : 0) &&
        `${result.originRequests} of ${n} requests reached the origin`,
      result.identifiedAtOrigin !== (identified ? n : 0) &&
        `${result.identifiedAtOrigin} of ${n} reached the origin with X-Auth-User`,
      result.otherFetches > 0 && `${result.otherFetches} fetches left the isolate`,
    ].filter(Boolean)
    if (problems.length > 0) throw new Error(`${run.id}: ${problems.join('; ')}`)
    return result
  }

  /** workerd and Node CPU of one call, µs; measured again if workerd or the isolate changed. */
  async function timedCall(run: Run, n: number) {
    for (let attempt = 0; attempt < 4; attempt++) {
      const before = await worker.settledCpu()
      const result = await call(run, n)
      const cpu = cpuBetween(before, await worker.settledCpu())
      const sameIsolate = result.isolate === isolate
      isolate = result.isolate
      if (cpu && sameIsolate) return cpu
      remeasured++
    }
    throw new Error(`${run.id}: workerd kept being replaced during the measurement`)
  }

  const bare = runs.find((run) => run.scenario.handler === 'bare')!
  // Warm-up: every scenario once (the Worker makes its sessions and token on the first call).
  for (const run of runs) isolate = (await call(run, 200)).isolate

  // Plumbing: wrangler dev's proxy, the HTTP request and the JSON answer, per call.
  const PLUMBING_CALLS = 40
  let plumbingWorkerd = 0
  let plumbingNode = 0
  for (let i = 0; i < PLUMBING_CALLS; i++) {
    const cpu = await timedCall(bare, 0)
    plumbingWorkerd += cpu.workerdMicros
    plumbingNode += cpu.nodeMicros
  }
  const plumbing = {
    workerd: plumbingWorkerd / PLUMBING_CALLS,
    node: plumbingNode / PLUMBING_CALLS,
  }

  // n per scenario, from one calibration call: each later call costs about targetCallMs.
  const CALIBRATION_N = options.calibrationN
  const ns = new Map<string, number>()
  for (const run of runs) {
    const cpu = await timedCall(run, CALIBRATION_N)
    const estimate = Math.max(1, (cpu.workerdMicros - plumbing.workerd) / CALIBRATION_N)
    const n = Math.round((options.targetCallMs * 1000) / estimate / 500) * 500
    ns.set(run.id, Math.min(options.maxN, Math.max(options.minN, n)))
  }

  const samples = new Map<string, { workerd: number[]; node: number[] }>(
    runs.map((run) => [run.id, { workerd: [], node: [] }]),
  )
  for (let round = 0; round < options.rounds; round++) {
    for (const run of rotate(runs, round)) {
      const n = ns.get(run.id)!
      const cpu = await timedCall(run, n)
      samples.get(run.id)!.workerd.push((cpu.workerdMicros - plumbing.workerd) / n)
      samples.get(run.id)!.node.push((cpu.nodeMicros - plumbing.node) / n)
    }
    progress(`in-isolate round ${round + 1}/${options.rounds} done`)
  }

  const bareSamples = samples.get(bare.id)!.workerd
  return {
    method:
      'bench/isolate-worker.ts under wrangler dev (a snapshot bundle, --no-bundle) runs the handler n times in one request ' +
      'against an in-memory origin; utime+stime of every workerd process of that wrangler dev, from /proc/<pid>/stat, ' +
      'read before and after each call once the processes are idle (so work a call leaves behind, such as wrangler printing ' +
      'log lines, is charged to it); (CPU - plumbing of an n=0 call) / n; scenarios alternate, rotated each round',
    clockTicksPerSecond: CLOCK_TICKS,
    options: {
      rounds: options.rounds,
      targetCallMs: options.targetCallMs,
      minN: options.minN,
      maxN: options.maxN,
      calibrationN: options.calibrationN,
    },
    plumbingPerCallMicros: plumbing,
    remeasured,
    runs: runs.map((run) => {
      const s = samples.get(run.id)!
      return {
        id: run.id,
        scenario: run.scenario.key,
        label: run.scenario.label,
        log: run.log,
        n: ns.get(run.id)!,
        micros: spread(s.workerd),
        overBareMicros:
          run === bare ? undefined : spread(s.workerd.map((value, i) => value - bareSamples[i]!)),
        wranglerNodeMicros: spread(s.node),
      }
    }),
  }
}

/** The in-isolate table; `previous` maps a run id to its over-bare median in the last run. */
export function isolateTable(result: IsolateResult, previous: Record<string, number> = {}): string {
  const rows = result.runs.map((run) => {
    const budget = BUDGETS[run.id]
    const over = run.overBareMicros?.median
    const verdict =
      budget === undefined || over === undefined
        ? ''
        : `≤ ${budget}: ${over <= budget ? 'met' : `missed by ${(over - budget).toFixed(0)}`}`
    const before = previous[run.id]
    return `| ${run.label} | ${run.log ?? '—'} | ${run.n} | ${formatSpread(run.micros)} | ${formatSpread(run.overBareMicros)} | ${verdict} | ${formatSpread(run.wranglerNodeMicros)} | ${before === undefined ? '—' : before.toFixed(0)} |`
  })
  return `| path (in-isolate, CPU µs per request) | LOG_REQUESTS | n per call | workerd µs, median (min–max) | over bare µs | budget over bare | wrangler Node µs | previous run, over bare |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

In-isolate: ${result.options.rounds} rounds, scenarios alternating; CPU from /proc/<pid>/stat (utime+stime of the workerd processes, ${result.clockTicksPerSecond} ticks/s), plumbing of one call (${result.plumbingPerCallMicros.workerd.toFixed(0)} µs workerd, ${result.plumbingPerCallMicros.node.toFixed(0)} µs Node) subtracted${result.remeasured ? `; ${result.remeasured} calls measured again (workerd replaced or a new isolate)` : ''}.`
}
