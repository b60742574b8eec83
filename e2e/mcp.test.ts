// The official MCP TypeScript SDK's client (@modelcontextprotocol/sdk), given only the URL of an
// MCP server behind `npm run dev`, walks the gateway's OAuth flow as an MCP client would:
// discovery from the 401, dynamic registration, authorization in a real browser (Chromium: sign
// in with a code from the dev mailbox, the consent page, Allow), the token exchange, tool calls;
// and after "Sign out everywhere" its next call is refused. The MCP server is the demo origin's
// /mcp (scripts/demo-mcp.ts).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  UnauthorizedError,
  type OAuthClientProvider,
} from '@modelcontextprotocol/sdk/client/auth.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './browser.ts'
import { freePort, startDevServer, type DevServer } from './dev-server.ts'
import { codeFromMailbox } from './mailbox.ts'

const SCREENSHOTS = new URL('../docs/screenshots/', import.meta.url).pathname
const CLIENT_NAME = 'MCP SDK test client'

let browser: Browser
// What a test opened (callback servers, browser contexts), closed at the end even when it fails.
const cleanups: (() => Promise<unknown> | void)[] = []

before(async () => {
  browser = await launchChromium()
})

after(async () => {
  for (const cleanup of cleanups) await cleanup()
  await browser?.close()
})

/**
 * An MCP client's OAuth state, in memory: what it registered, its tokens and PKCE verifier, and
 * the authorization URLs it was asked to open (a desktop client would open a browser there).
 */
class MemoryProvider implements OAuthClientProvider {
  readonly redirectUrl: string
  readonly opened: URL[] = []
  readonly sentState = randomBytes(16).toString('base64url')
  private client: OAuthClientInformationMixed | undefined
  private saved: OAuthTokens | undefined
  private verifier = ''

  constructor(redirectUrl: string) {
    this.redirectUrl = redirectUrl
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: CLIENT_NAME,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }
  }
  state = () => this.sentState
  clientInformation = () => this.client
  saveClientInformation = (client: OAuthClientInformationMixed) => void (this.client = client)
  tokens = () => this.saved
  saveTokens = (tokens: OAuthTokens) => void (this.saved = tokens)
  redirectToAuthorization = (url: URL) => void this.opened.push(url)
  saveCodeVerifier = (verifier: string) => void (this.verifier = verifier)
  codeVerifier = () => this.verifier
  invalidateCredentials = (scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') => {
    if (scope === 'all' || scope === 'tokens') this.saved = undefined
    if (scope === 'all' || scope === 'client') this.client = undefined
  }
}

/** The loopback redirect URI a native client serves (RFC 8252): each request it gets, in order. */
async function startCallback(): Promise<{ url: string; next(): Promise<URL> }> {
  const port = await freePort()
  const arrived: URL[] = []
  const waiting: ((url: URL) => void)[] = []
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${port}`)
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    response.end('<!doctype html><title>Connected</title><p>Connected. You can close this window.')
    const waiter = waiting.shift()
    if (waiter) waiter(url)
    else arrived.push(url)
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  cleanups.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return {
    url: `http://127.0.0.1:${port}/callback`,
    next: () => {
      const first = arrived.shift()
      return first ? Promise.resolve(first) : new Promise((resolve) => waiting.push(resolve))
    },
  }
}

/** What the client sent and got, in order: method, path, status, WWW-Authenticate, OAuth error. */
interface Exchange {
  method: string
  path: string
  status: number
  wwwAuthenticate: string | null
  error?: string
}

function recordingFetch(log: Exchange[]) {
  return async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetch(url, init)
    const refused = !response.ok && response.headers.get('content-type')?.includes('json')
    log.push({
      method: init?.method ?? 'GET',
      path: new URL(url).pathname,
      status: response.status,
      wwwAuthenticate: response.headers.get('www-authenticate'),
      ...(refused && { error: ((await response.clone().json()) as { error?: string }).error }),
    })
    return response
  }
}

/** A person opens the authorization URL in their browser and signs in with an emailed code. */
async function signInAt(page: Page, server: DevServer, authorizationUrl: URL, email: string) {
  await page.goto(authorizationUrl.href)
  await page.waitForURL(/\/auth\/login\?returnTo=%2Fauth%2Foauth%2Fauthorize%3F/)
  await page.getByLabel('Email address').fill(email)
  await page.getByRole('button', { name: 'Email me a sign-in code' }).click()
  await page.waitForURL(/\/auth\/code$/)
  await page.getByLabel('Sign-in code').fill(await codeFromMailbox(server.url, email))
  await page.getByRole('button', { name: 'Sign in' }).click()
  // Back on the authorization request, now signed in: the consent page.
  await page.waitForURL(/\/auth\/oauth\/authorize\?/)
}

const text = (result: unknown) =>
  (result as { content: { type: string; text: string }[] }).content[0]!.text

interface Flow {
  server: DevServer
  /** The resource the protected-resource metadata names for /mcp. */
  resource: string
  /** The application the consent page names: the route's name, or the product name. */
  application: RegExp
  /** The route the origin is told (X-Auth-Route), null without ACCESS. */
  route: string | null
  screenshot?: string
}

/** The whole flow, as an MCP client and the person using it would walk it. */
async function walk({ server, resource, application, route, screenshot }: Flow) {
  const timings: Record<string, number> = {}
  let mark = Date.now()
  const lap = (name: string) => {
    timings[name] = Date.now() - mark
    mark = Date.now()
  }
  const email = `mcp-${Date.now().toString(36)}@example.com`
  const callback = await startCallback()
  const provider = new MemoryProvider(callback.url)
  const log: Exchange[] = []
  const mcpUrl = new URL(`${server.url}/mcp`)
  const client = () => new Client({ name: 'gateway-e2e', version: '1.0.0' })
  const transport = () =>
    new StreamableHTTPClientTransport(mcpUrl, {
      authProvider: provider,
      fetch: recordingFetch(log),
    })

  // 1. Only the URL: the gateway answers 401; the SDK discovers, registers, and asks for a browser.
  const first = transport()
  await assert.rejects(client().connect(first), UnauthorizedError)
  lap('discoveryAndRegistrationMs')
  const [unauthorized] = log
  assert.equal(unauthorized?.status, 401)
  assert.equal(unauthorized.path, '/mcp')
  // RFC 9728 path insertion: the document of the resource's path (none for `/`).
  const metadataPath = `/.well-known/oauth-protected-resource${new URL(resource).pathname.replace(/\/$/, '')}`
  assert.equal(
    unauthorized.wwwAuthenticate,
    `Bearer resource_metadata="${server.url}${metadataPath}"`,
  )
  assert.deepEqual(
    log.slice(1).map(({ method, path, status }) => `${method} ${path} ${status}`),
    [
      `GET ${metadataPath} 200`,
      'GET /.well-known/oauth-authorization-server 200',
      'POST /auth/oauth/register 201',
    ],
  )
  assert.equal(provider.opened.length, 1)
  const asked = provider.opened[0]!
  assert.equal(asked.origin + asked.pathname, `${server.url}/auth/oauth/authorize`)
  assert.equal(asked.searchParams.get('resource'), resource)
  assert.equal(asked.searchParams.get('code_challenge_method'), 'S256')
  assert.equal(asked.searchParams.get('redirect_uri'), callback.url)
  const clientId = provider.clientInformation()!.client_id
  assert.match(clientId, /^gwc_/)

  // 2. The person, in a real browser: sign in, the consent page names the client, Allow.
  const context = await browser.newContext({ viewport: { width: 420, height: 860 } })
  cleanups.push(() => context.close())
  const page = await context.newPage()
  await signInAt(page, server, asked, email)
  lap('signInMs')
  const consent = (await page.textContent('main')) ?? ''
  assert.match(consent, new RegExp(`${CLIENT_NAME} \\(as it calls itself\\) asks to use`))
  assert.match(consent, application)
  assert.match(consent, new RegExp(`as you, ${email.replace('.', '\\.')}`))
  assert.ok(consent.includes(new URL(callback.url).host), 'the host the answer goes to')
  assert.ok(consent.includes(resource))
  assert.ok(consent.includes(clientId))
  if (screenshot) await page.screenshot({ path: `${SCREENSHOTS}${screenshot}.png`, fullPage: true })
  await page.getByRole('button', { name: 'Allow' }).click()
  await page.waitForURL(`${callback.url}?**`)
  const answer = await callback.next()
  lap('consentMs')
  assert.equal(answer.pathname, '/callback')
  assert.equal(answer.searchParams.get('state'), provider.sentState)
  // RFC 9207: the answer names the issuer (the SDK does not check it; a client should).
  assert.equal(answer.searchParams.get('iss'), server.url)
  const code = answer.searchParams.get('code')
  assert.ok(code)

  // 3. The code for tokens, then a new connection that works.
  const logBefore = log.length
  await first.finishAuth(code)
  // (The SDK discovers again first, as this provider keeps no discovery state.)
  assert.deepEqual(
    log
      .slice(logBefore)
      .filter(({ method }) => method === 'POST')
      .map(({ method, path, status }) => `${method} ${path} ${status}`),
    ['POST /auth/oauth/token 200'],
  )
  const tokens = provider.tokens()!
  assert.match(tokens.access_token, /^gwat_/)
  assert.match(tokens.refresh_token ?? '', /^gwrt_/)
  const connected = client()
  await connected.connect(transport())
  lap('tokenAndConnectMs')
  const { tools } = await connected.listTools()
  assert.deepEqual(tools.map((tool) => tool.name).sort(), ['echo', 'whoami'])
  const echoed = await connected.callTool({ name: 'echo', arguments: { text: 'hello' } })
  assert.equal(text(echoed), 'hello')
  const who = JSON.parse(text(await connected.callTool({ name: 'whoami' }))) as {
    email: string
    user: string | null
    client: string
    route: string | null
    assertion: boolean
    authorization: string | null
    mcpRequests: { requests: number; withAuthorization: number }
  }
  lap('toolCallsMs')
  assert.equal(who.email, email)
  assert.match(who.user ?? '', /^user_/)
  assert.equal(who.client, clientId)
  assert.equal(who.route, route)
  assert.equal(who.assertion, true)
  // The gateway's token never reached the MCP server: not on this call, nor on any before it
  // (initialize, initialized, tools/list, echo).
  assert.equal(who.authorization, null)
  assert.ok(who.mcpRequests.requests >= 5, JSON.stringify(who.mcpRequests))
  assert.equal(who.mcpRequests.withAuthorization, 0)

  // 4. The grant is one of the person's sessions; sign out everywhere ends it.
  await page.goto(`${server.url}/auth/sessions`)
  const sessions = (await page.textContent('main')) ?? ''
  assert.ok(sessions.includes(CLIENT_NAME), sessions)
  assert.ok(sessions.includes(`app access: ${resource}`), sessions)
  await page.getByRole('button', { name: 'Sign out everywhere' }).click()
  await page.waitForURL(/signed_out=1/)
  const signedOutAt = Date.now()
  lap('signOutEverywhereMs')
  const logAtSignOut = log.length
  await assert.rejects(connected.callTool({ name: 'whoami' }), UnauthorizedError)
  const refusedAfterMs = Date.now() - signedOutAt
  lap('refusedCallMs')
  const afterSignOut = log.slice(logAtSignOut)
  const refused = afterSignOut.find((exchange) => exchange.path === '/mcp')
  assert.equal(refused?.status, 401)
  assert.match(refused.wwwAuthenticate ?? '', /error="invalid_token"/)
  assert.equal(refused.error, 'invalid_token')
  // The SDK then tried its refresh token, which the ended grant refuses, and asked for a new
  // authorization: the person has to approve again.
  const refresh = afterSignOut.find((exchange) => exchange.path === '/auth/oauth/token')
  assert.equal(refresh?.status, 400)
  assert.equal(refresh.error, 'invalid_grant')
  assert.equal(provider.opened.length, 2)
  // The access token itself, presented by hand: refused as well.
  const direct = await fetch(mcpUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${tokens.access_token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  })
  assert.equal(direct.status, 401)
  assert.equal(((await direct.json()) as { error: string }).error, 'invalid_token')

  await connected.close()
  console.log(JSON.stringify({ mcpFlow: { ...timings, refusedAfterSignOutMs: refusedAfterMs } }))
}

/** A `npm run dev` for the tests of the enclosing describe, started before them, stopped after. */
function devServerFor(extraArgs: string[] = []): () => DevServer {
  let server: DevServer | undefined
  before(async () => {
    server = await startDevServer(extraArgs)
  })
  after(async () => {
    await server?.stop()
  })
  return () => server!
}

describe('an MCP client (official SDK) behind npm run dev, default settings', () => {
  const server = devServerFor()

  it('discovers, registers, is authorized in the browser, calls tools, and is refused after sign out everywhere', async () => {
    // Without ACCESS the one resource is the origin's root, which contains /mcp.
    await walk({
      server: server(),
      resource: `${server().url}/`,
      application: /Allow access to this site\?/,
      route: null,
      screenshot: 'consent',
    })
  })
})

describe('an MCP client (official SDK) behind npm run dev, ACCESS route /mcp/*', () => {
  const routes = [
    { name: 'mcp', path: '/mcp/*' },
    { name: 'app', path: '/*' },
  ]
  const server = devServerFor(['--var', `ACCESS:${JSON.stringify({ routes })}`])

  it('the resource is the route /mcp, the consent names the route', async () => {
    await walk({
      server: server(),
      resource: `${server().url}/mcp`,
      application: /Allow access to mcp\?/,
      route: 'mcp',
    })
  })
})
