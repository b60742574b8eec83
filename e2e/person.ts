// A person at a `npm run dev` server over plain HTTP, and the login CLI they run: shared by the
// CLI's browser-less tests and the MCP conformance run, which needs a token minted as a person
// would mint one.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { codeFromMailbox } from './mailbox.ts'

const CLI = fileURLToPath(new URL('../scripts/login.ts', import.meta.url))

/** A person's browser over plain HTTP: its cookies, and the headers a browser's navigation sends. */
export class Browser {
  private readonly cookies = new Map<string, string>()
  readonly base: string

  constructor(base: string) {
    this.base = base
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '))
    const response = await fetch(`${this.base}${path}`, { ...init, headers, redirect: 'manual' })
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
        origin: this.base,
        accept: 'text/html',
        'sec-fetch-dest': 'document',
      },
      body: new URLSearchParams(fields).toString(),
    })
  }
}

async function expectStatus(response: Response, status: number, what: string): Promise<string> {
  const body = await response.text()
  if (response.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${response.status} ${body.slice(0, 500)}`)
  }
  return body
}

/** Signs a new browser in as `email` with an emailed code (Magic Auth), as the JSON API allows. */
export async function signedIn(base: string, email: string): Promise<Browser> {
  const browser = new Browser(base)
  const json = { 'content-type': 'application/json' }
  const asked = await browser.request('/auth/magic-auth', {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email }),
  })
  await expectStatus(asked, 200, 'asking for a code')
  const verified = await browser.request('/auth/magic-auth/verify', {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, code: await codeFromMailbox(base, email) }),
  })
  await expectStatus(verified, 200, 'verifying the code')
  return browser
}

/**
 * The person opens the link the CLI printed, submits the prefilled code and answers on the
 * consent page. Resolves with the consent page's HTML, for callers that check what it showed.
 */
export async function answerDeviceCode(
  browser: Browser,
  completeUri: string,
  userCode: string,
  decision: 'approve' | 'deny',
): Promise<string> {
  const link = new URL(completeUri)
  const page = await browser.request(link.pathname + link.search, {
    headers: { accept: 'text/html', 'sec-fetch-dest': 'document' },
  })
  const entry = await expectStatus(page, 200, 'opening the device link')
  if (!entry.includes(`value="${userCode}"`)) throw new Error('the link did not prefill the code')
  const consent = await browser.submit('/auth/device', { user_code: userCode })
  const html = await expectStatus(consent, 200, 'entering the code')
  const sealed = /name="consent" value="([^"]+)"/.exec(html)?.[1]
  if (!sealed) throw new Error('no consent form')
  await expectStatus(
    await browser.submit('/auth/device/consent', { consent: sealed, decision }),
    200,
    'answering',
  )
  return html
}

export interface LoginRun {
  /** Resolves with the first match of `pattern` in what the CLI wrote to stderr. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>
  done: Promise<{ code: number | null; stdout: string; stderr: string }>
}

/** The login CLI as a person runs it (`npm run login -- <url>`), on this Node. */
export function runLoginCli(...args: string[]): LoginRun {
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

/**
 * A gateway access token for `resource`, minted as a person mints one: the login CLI (device
 * grant), a new person signed in as `email` who approves its code.
 */
export async function mintAccessToken(
  base: string,
  resource: string,
  email: string,
): Promise<string> {
  const run = runLoginCli(resource)
  const [, userCode] = await run.waitFor(/enter the code ([A-Z]{4}-[A-Z]{4})/)
  const [, completeUri] = await run.waitFor(/or open (\S+) and confirm/)
  await answerDeviceCode(await signedIn(base, email), completeUri!, userCode!, 'approve')
  const { code, stdout, stderr } = await run.done
  if (code !== 0) throw new Error(`the login CLI exited ${code}:\n${stderr}`)
  return stdout.trim()
}
