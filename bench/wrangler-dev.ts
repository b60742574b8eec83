// `wrangler dev` for the bench: each Worker runs from a snapshot of its code, and the CPU its
// processes spend is read from /proc.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../e2e/dev-server.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const wrangler = `${root}node_modules/wrangler/bin/wrangler.js`
const quietEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
}

// ---- CPU of a process tree, from /proc/<pid>/stat ------------------------------------------------
/** Clock ticks per second of utime and stime (`getconf CLK_TCK`, 100 on Linux). */
export const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())

interface ProcStat {
  pid: number
  comm: string
  ppid: number
  /** utime + stime: user and system CPU of every thread of the process, in clock ticks. */
  ticks: number
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may hold spaces; the fields after it are fixed:
    // state (3), ppid (4), … utime (14), stime (15).
    const close = text.lastIndexOf(')')
    const fields = text.slice(close + 2).split(' ')
    return {
      pid,
      comm: text.slice(text.indexOf('(') + 1, close),
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
    }
  } catch {
    return undefined // exited meanwhile
  }
}

/** Every process descending from `rootPid` (itself included). */
function processTree(rootPid: number): ProcStat[] {
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((stat): stat is ProcStat => stat !== undefined)
  const children = new Map<number, ProcStat[]>()
  for (const stat of all) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat])
  const tree: ProcStat[] = []
  const queue = all.filter((stat) => stat.pid === rootPid)
  while (queue.length > 0) {
    const stat = queue.shift()!
    tree.push(stat)
    queue.push(...(children.get(stat.pid) ?? []))
  }
  return tree
}

export interface CpuReading {
  /** utime + stime of every workerd process in the tree, in clock ticks. */
  workerdTicks: number
  /** The same for wrangler's own Node processes (its CLI, which prints the Worker's log lines). */
  nodeTicks: number
  /** The workerd pids, sorted: a change between two readings means a process was replaced. */
  workerdPids: string
}

export function readCpu(rootPid: number): CpuReading {
  const tree = processTree(rootPid)
  const workerd = tree.filter((stat) => stat.comm === 'workerd')
  return {
    workerdTicks: workerd.reduce((sum, stat) => sum + stat.ticks, 0),
    nodeTicks: tree.filter((s) => s.comm === 'node').reduce((sum, s) => sum + s.ticks, 0),
    workerdPids: workerd
      .map((stat) => stat.pid)
      .sort((a, b) => a - b)
      .join(','),
  }
}

/**
 * A reading taken once the processes are idle: work a call leaves behind (wrangler printing the
 * Worker's log lines, inspector traffic) is charged to that call, not to the next one.
 */
export async function settledCpu(rootPid: number): Promise<CpuReading> {
  let last = readCpu(rootPid)
  for (let i = 0; i < 80; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    const now = readCpu(rootPid)
    if (now.workerdTicks === last.workerdTicks && now.nodeTicks === last.nodeTicks) return now
    last = now
  }
  return last
}

/** CPU between two readings, in microseconds, or undefined when a workerd process was replaced. */
export function cpuBetween(before: CpuReading, after: CpuReading) {
  if (before.workerdPids !== after.workerdPids || before.workerdPids === '') return undefined
  const micros = (ticks: number) => (ticks * 1e6) / CLOCK_TICKS
  return {
    workerdMicros: micros(after.workerdTicks - before.workerdTicks),
    nodeMicros: micros(after.nodeTicks - before.nodeTicks),
  }
}

// ---- Workers under wrangler dev ----------------------------------------------------------------
export interface RunningWorker {
  url: string
  /** The process group leader: wrangler's launcher, whose tree holds its CLI and both workerds. */
  pid: number
  /** wrangler's inspector (DevTools protocol; GET /json lists the Worker). */
  inspectorPort: number
  /** The snapshot bundle it runs (esbuild's output: each module starts with a `// path` line). */
  script: string
  startupMs: number
  cpu: () => CpuReading
  /** A reading once the processes are idle (at most 2 s of waiting). */
  settledCpu: () => Promise<CpuReading>
  stop: () => void
}

/**
 * Bundles the Worker once with wrangler's own bundler (`deploy --dry-run`), the way `wrangler
 * dev` would. The bench runs that snapshot with `--no-bundle`: an edit to src/ during a run
 * would otherwise make wrangler dev rebuild and replace the workerd process mid-measurement.
 */
export function snapshot(config: string): string {
  const outdir = mkdtempSync(join(tmpdir(), 'gateway-bench-build-'))
  try {
    execFileSync(
      process.execPath,
      [wrangler, 'deploy', '--dry-run', '--config', config, '--outdir', outdir],
      {
        cwd: root,
        stdio: 'pipe',
        env: quietEnv,
      },
    )
  } catch (error) {
    const output = (error as { stdout?: Buffer; stderr?: Buffer }).stderr?.toString() ?? ''
    throw new Error(`could not bundle ${config}:\n${output.slice(-2000)}`)
  }
  const script = readdirSync(outdir).find((name) => name.endsWith('.js'))
  if (!script) throw new Error(`bundling ${config} wrote no script`)
  return join(outdir, script)
}

export function removeSnapshot(script: string): void {
  rmSync(join(script, '..'), { recursive: true, force: true })
}

/**
 * `wrangler dev` for one Worker's snapshot on a free port; its process group is stopped at the end.
 * Workers that must run the same code share one `script` from `snapshot()` (the caller removes
 * it); without one, the Worker gets its own, removed when it stops.
 */
export async function startWorker(options: {
  config: string
  port: number
  vars?: Record<string, string>
  script?: string
}): Promise<RunningWorker> {
  const script = options.script ?? snapshot(options.config)
  // From the spawn to the first answer (the snapshot's bundling is not counted).
  const started = performance.now()
  const inspector = await freePort()
  const vars = Object.entries(options.vars ?? {}).map(([k, v]) => `${k}:${v}`)
  // Each Worker keeps its local KV in its own folder: two wrangler dev processes on one config
  // would otherwise contend for the same state database.
  const state = mkdtempSync(join(tmpdir(), 'gateway-bench-'))
  const child = spawn(
    process.execPath,
    [
      wrangler,
      'dev',
      script,
      '--no-bundle',
      '--config',
      options.config,
      '--port',
      String(options.port),
      '--ip',
      '127.0.0.1',
      '--inspector-port',
      String(inspector),
      '--persist-to',
      state,
      ...(vars.length ? ['--var', ...vars] : []),
    ],
    { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: quietEnv },
  )
  // Only the tail is kept: with LOG_REQUESTS=all the Worker prints a line per request.
  let output = ''
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000))
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const url = `http://127.0.0.1:${options.port}`
  const stop = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
    rmSync(state, { recursive: true, force: true })
    if (!options.script) removeSnapshot(script)
  }
  for (let i = 0; i < 240; i++) {
    try {
      const response = await fetch(`${url}/healthz`)
      await response.arrayBuffer()
      return {
        url,
        pid: child.pid!,
        inspectorPort: inspector,
        script,
        startupMs: performance.now() - started,
        cpu: () => readCpu(child.pid!),
        settledCpu: () => settledCpu(child.pid!),
        stop,
      }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
  stop()
  throw new Error(`wrangler dev for ${basename(options.config)} did not start:\n${output}`)
}
