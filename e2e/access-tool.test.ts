import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'

// `npm run access` without ACCESS decides as the Worker does: PUBLIC_PATHS compiled into the one
// policy (public routes, then any signed-in person), not an error.

const tool = join(import.meta.dirname, '../scripts/access.ts')

function withVars(vars: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'access-tool-'))
  const config = join(dir, 'wrangler.toml')
  writeFileSync(config, `name = "gateway"\n[vars]\nORIGIN_URL = "http://origin"\n${vars}\n`)
  return config
}

function run(...args: string[]) {
  // From an empty folder, so no .dev.vars of the repository is read.
  const cwd = mkdtempSync(join(tmpdir(), 'access-tool-cwd-'))
  const done = spawnSync(process.execPath, [tool, ...args], { cwd, encoding: 'utf8' })
  return { status: done.status, out: done.stdout + done.stderr }
}

it('check decides with PUBLIC_PATHS when ACCESS is not set', () => {
  const config = withVars('PUBLIC_PATHS = "/static/*,/favicon.ico"')
  const open = run('check', '--url', 'https://app.example/static/site.css', '--config', config)
  assert.equal(open.status, 0, open.out)
  assert.match(open.out, /PUBLIC_PATHS\[0\]/)
  const closed = run('check', '--url', 'https://app.example/reports', '--config', config)
  assert.equal(closed.status, 1, closed.out)
  assert.match(closed.out, /decision {2}sign_in/)
  const signedIn = run('check', '--url', 'https://app.example/reports', '--email', 'a@example.com')
  assert.equal(signedIn.status, 2, 'no wrangler.toml in an empty folder is a usage error')
  const person = run(
    ...['check', '--url', 'https://app.example/reports', '--email', 'a@example.com'],
    ...['--config', config],
  )
  assert.equal(person.status, 0, person.out)
})

it('check without ACCESS or PUBLIC_PATHS makes every path need a sign-in', () => {
  const config = withVars('')
  const result = run('check', '--url', 'https://app.example/static/site.css', '--config', config)
  assert.equal(result.status, 1, result.out)
  assert.match(result.out, /any signed-in person/)
})

it('lint names a PUBLIC_PATHS entry the Worker would refuse', () => {
  const result = run('lint', '--config', withVars('PUBLIC_PATHS = "static/*"'))
  assert.equal(result.status, 2, result.out)
  assert.match(result.out, /PUBLIC_PATHS .* is invalid/)
  assert.match(result.out, /must start with "\/"/)
})
