// bench/results/history.jsonl: one line of headline figures per run (the last 50), so that a
// regression shows against the runs before it.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'

const KEEP = 50

export interface Headline {
  date: string
  mode: 'quick' | 'full' | 'isolate-only'
  /** The commit the working tree is on, and whether it had changes (then the figures are of those). */
  commit: string | undefined
  dirty: boolean | undefined
  /** In-isolate workerd CPU per request, µs (median), and the same over the bare handler. */
  isolateMicros: Record<string, number>
  isolateOverBareMicros: Record<string, number>
  /** End to end under wrangler dev: throughput ÷ bare (median), workerd CPU µs per request. */
  throughputRatio?: Record<string, number>
  workerdMicrosPerRequest?: Record<string, number>
  bundleGzipBytes?: number
}

export function readHistory(file: string): Headline[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Headline]
      } catch {
        return [] // a damaged line is skipped, not fatal
      }
    })
}

export function appendHistory(file: string, entry: Headline): void {
  const lines = [...readHistory(file), entry].slice(-KEEP).map((e) => JSON.stringify(e))
  writeFileSync(file, `${lines.join('\n')}\n`)
}

/** The commit and whether the tree has changes; read-only git, undefined outside a checkout. */
export function revision(cwd: string): { commit: string | undefined; dirty: boolean | undefined } {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim()
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      // The bench's own results are tracked too and change with every run: not a change to the code.
      dirty:
        git('--no-optional-locks', 'status', '--porcelain', '--', '.', ':!bench/results') !== '',
    }
  } catch {
    return { commit: undefined, dirty: undefined }
  }
}
