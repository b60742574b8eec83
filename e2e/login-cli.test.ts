// The RFC 8628 client (oauth4webapi, in scripts/login.ts) completes the device grant against
// `npm run dev`: the real CLI discovers the gateway from a route's URL, registers, prints a code;
// a person signed in with a code from the dev mailbox types it and approves over HTTP, as their
// browser would; the CLI prints a token that opens that route, and only that route.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startDevServer, type DevServer } from './dev-server.ts'
import { codeFromMailbox } from './mailbox.ts'

const CLI = fileURLToPath(new URL('../scripts/login.ts', import.meta.url))
const ACCESS = {
  routes: [
    { name: 'api', path: '/api/*' },
    { name: 'app', path: '/*' },
  ],
}

let server: DevServer

before(async () => {
  server = await startDevServer(['--var', `ACCESS:${JSON.stringify(ACCESS)}`])
})

after(async () => {
  await server?.stop()
})

interface Run {
  /** Resolves with the first match of `pattern` in what the CLI wrote to stderr. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>
  done: Promise<{ code: number | null; stdout: string; stderr: string }>
}

/** The CLI as a person runs it (`npm run login -- <url>`), on this Node. */
function runCli(...args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const waiting: { pattern: RegExp; resolve: (match: RegExpExecArray) => void }[] = []
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    for (const wait of [...waiting]) {
      const match = wait.pattern.exec(stderr)
      if (match) {
        waiting.splice(waiting.indexOf(wait), 1)
        wait.resolve(match)
      }
    }
  })
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  )
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  void done.then(() => clearTimeout(killer))
  return {
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const match = pattern.exec(stderr)
        if (match) return resolve(match)
        waiting.push({ pattern, resolve })
        void done.then(() => reject(new Error(`the CLI exited without ${pattern}:\n${stderr}`)))
      }),
    done,
  }
}

/** A person's browser over plain HTTP: its cookies, and the headers a browser's navigation sends. */
class Browser {
  private readonly cookies = new Map<string, string>()

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '))
    const response = await fetch(`${server.url}${path}`, { ...init, headers, redirect: 'manual' })
    for (const header of response.headers.getSetCookie()) {
      const [pair = ''] = header.split(';')
      const at = pair.indexOf('=')
      if (at > 0) this.cookies.set(pair.slice(0, at), pair.slice(at + 1))
    }
    return response
  }

  /** A form posted from one of the gateway's pages. */
  submit(path: string, fields: Record<string, string>): Promise<Response> {
    return this.request(path, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: server.url,
        accept: 'text/html',
        'sec-fetch-dest': 'document',
      },
      body: new URLSearchParams(fields).toString(),
    })
  }
}

/** Signs a new browser in as `email` with an emailed code (Magic Auth), as the JSON API allows. */
async function signedIn(email: string): Promise<Browser> {
  const browser = new Browser()
  const json = { 'content-type': 'application/json' }
  const asked = await browser.request('/auth/magic-auth', {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email }),
  })
  assert.equal(asked.status, 200, await asked.text())
  const verified = await browser.request('/auth/magic-auth/verify', {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, code: await codeFromMailbox(server.url, email) }),
  })
  assert.equal(verified.status, 200, await verified.text())
  return browser
}

/** The person opens the link the CLI printed, submits the prefilled code and answers. */
async function answer(
  browser: Browser,
  completeUri: string,
  userCode: string,
  decision: 'approve' | 'deny',
) {
  const page = await browser.request(new URL(completeUri).pathname + new URL(completeUri).search, {
    headers: { accept: 'text/html', 'sec-fetch-dest': 'document' },
  })
  assert.equal(page.status, 200)
  assert.match(await page.text(), new RegExp(`value="${userCode}"`))
  const consent = await browser.submit('/auth/device', { user_code: userCode })
  const html = await consent.text()
  assert.equal(consent.status, 200, html)
  assert.match(html, /workos-edge-gateway CLI/)
  const sealed = /name="consent" value="([^"]+)"/.exec(html)![1]!
  const done = await browser.submit('/auth/device/consent', { consent: sealed, decision })
  assert.equal(done.status, 200)
}

const bearer = (path: string, token: string) =>
  fetch(`${server.url}${path}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  })

describe('npm run login (RFC 8628 client: oauth4webapi)', () => {
  it('completes the device grant against npm run dev; the printed token opens its route and no other', async () => {
    const email = `cli-${Date.now().toString(36)}@example.com`
    const run = runCli(`${server.url}/api/whoami`)
    const [, userCode] = await run.waitFor(/enter the code ([A-Z]{4}-[A-Z]{4})/)
    const [, completeUri] = await run.waitFor(/or open (\S+) and confirm/)
    assert.equal(completeUri, `${server.url}/auth/device?user_code=${userCode}`)
    await answer(await signedIn(email), completeUri!, userCode!, 'approve')
    const { code, stdout, stderr } = await run.done
    assert.equal(code, 0, stderr)
    const token = stdout.trim()
    assert.match(token, /^gwat_[A-Za-z0-9_.-]+$/)
    assert.doesNotMatch(stderr, /gwat_|gwrt_/, 'the token goes to stdout only')
    const onRoute = await bearer('/api/whoami', token)
    assert.equal(onRoute.status, 200)
    const seen = (await onRoute.json()) as { headers: Record<string, string> }
    assert.equal(seen.headers['x-auth-email'], email)
    assert.equal(seen.headers.authorization, undefined)
    const elsewhere = await bearer('/reports', token)
    assert.equal(elsewhere.status, 401)
    await elsewhere.body?.cancel()
  })

  it('exits 1 when the person denies, printing no token', async () => {
    const run = runCli(`${server.url}/api`)
    const [, userCode] = await run.waitFor(/enter the code ([A-Z]{4}-[A-Z]{4})/)
    const [, completeUri] = await run.waitFor(/or open (\S+) and confirm/)
    await answer(
      await signedIn(`cli-deny-${Date.now().toString(36)}@example.com`),
      completeUri!,
      userCode!,
      'deny',
    )
    const { code, stdout, stderr } = await run.done
    assert.equal(code, 1, stderr)
    assert.equal(stdout, '')
    assert.match(stderr, /Denied/)
  })

  it('exits 2 for a URL that leads to no gateway, or no URL', async () => {
    const none = await runCli().done
    assert.equal(none.code, 2)
    assert.match(none.stderr, /Usage: npm run login/)
    // The WorkOS emulator: an http server on this machine that is no gateway.
    const notProtected = await runCli(`${server.emulatorUrl}/api`).done
    assert.equal(notProtected.code, 2, notProtected.stderr)
    assert.match(notProtected.stderr, /not an application behind the gateway/)
  })
})
