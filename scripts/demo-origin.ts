import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { handleMcp, MCP_PATH } from './demo-mcp.ts'

// The demo origin behind `npm run dev`, and the origin the tests proxy to. It shows a person who
// they are signed in as, and tells a test exactly what arrived:
//   (any path)            JSON echo of method, path, query, headers and body size/hash
//                         (an HTML page for a browser navigation)
//   /__status/<code>      answers with that status
//   /__redirect?to=<url>  302 to that URL
//   /__cookies            sets two cookies of its own
//   /__set-cookie?c=…     sets each `c` as a Set-Cookie line (a hostile origin, for the tests)
//   …/sw.js               a service worker script (cacheable for 10 minutes) that reports each
//                         navigation it sees to /__sw-seen; each `allowed` query value becomes a
//                         Service-Worker-Allowed line (an origin widening its scope)
//   /__sw-seen            GET: the navigations origin service workers reported (JSON)
//   /__pipe               streams the request body straight back
//   /__slow-stream        sends three chunks 150 ms apart
//   /__gzip               a JSON body sent gzip-compressed (Content-Encoding: gzip)
//   /__hop-by-hop         an answer carrying hop-by-hop headers, one named by its Connection header
//   /__ws                 a WebSocket: first one JSON message with what the upgrade carried
//                         (identity, the assertion, Origin, cookie, subprotocol), then each
//                         message echoed back as it came (text as text, binary as binary); the
//                         text "__close [<code> [<reason>]]" makes the origin close the socket,
//                         "__drop" makes it drop the connection without a close frame
//   /__ws/closed?id=…     how the /__ws?id=… socket was closed, as the origin saw it (JSON)
//   (any other upgrade)   refused: 403 JSON, no WebSocket
//   /mcp                  an MCP server (scripts/demo-mcp.ts): tools whoami and echo

export interface RunningOrigin {
  url: string
  port: number
  close(): Promise<void>
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

// How each /__ws?id=… socket ended, for tests to read back; the oldest are forgotten.
const socketCloses = new Map<string, { code: number; reason: string; at: number }>()

// The navigations origin service workers reported (/__sw-seen); the oldest are forgotten.
const swSeen: string[] = []

// What a hostile origin would register: a worker that sees every navigation in its scope and
// sends the URL (a sign-in code, a magic link) home.
const SERVICE_WORKER = `self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))
self.addEventListener('fetch', (event) => {
  if (event.request.mode === 'navigate')
    fetch('/__sw-seen', { method: 'POST', body: event.request.url }).catch(() => {})
})
`

function serviceWorkerScript(url: URL, response: ServerResponse): void {
  const allowed = url.searchParams.getAll('allowed')
  response.writeHead(200, {
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': 'max-age=600',
    ...(allowed.length > 0 && { 'Service-Worker-ALLOWED': allowed }),
  })
  response.end(SERVICE_WORKER)
}

function handler(): Parameters<typeof createServer>[1] {
  return async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://origin.local')
    const status = /^\/__status\/(\d{3})$/.exec(url.pathname)?.[1]
    if (url.pathname === '/__ws/closed') {
      const closed = socketCloses.get(url.searchParams.get('id') ?? '')
      response.writeHead(closed ? 200 : 404, { 'content-type': 'application/json' })
      response.end(JSON.stringify(closed ?? { error: 'not_closed' }))
      return
    }
    if (url.pathname === '/__pipe') {
      response.writeHead(200, {
        'content-type': request.headers['content-type'] ?? 'application/octet-stream',
      })
      request.pipe(response)
      return
    }
    if (url.pathname === '/__slow-stream') {
      response.writeHead(200, { 'content-type': 'text/plain' })
      for (const part of ['one\n', 'two\n', 'three\n']) {
        response.write(part)
        await new Promise((resolve) => setTimeout(resolve, 150))
      }
      response.end()
      return
    }
    if (url.pathname === '/__gzip') {
      const text = JSON.stringify({ compressed: true, filler: 'gateway '.repeat(500) })
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      response.end(gzipSync(text))
      return
    }
    if (url.pathname === '/__hop-by-hop') {
      response.writeHead(200, {
        'content-type': 'text/plain',
        connection: 'keep-alive, x-origin-hop',
        'x-origin-hop': 'for the gateway only',
        'keep-alive': 'timeout=5',
        'x-origin': 'demo',
      })
      response.end('hop')
      return
    }
    if (url.pathname === '/__redirect') {
      response.writeHead(302, { location: url.searchParams.get('to') ?? '/' })
      response.end()
      return
    }
    if (url.pathname === '/__cookies') {
      response.setHeader('set-cookie', ['origin_a=1; Path=/', 'origin_b=2; Path=/; HttpOnly'])
      response.writeHead(200, { 'content-type': 'text/plain' })
      response.end('cookies set')
      return
    }
    if (url.pathname === MCP_PATH) return handleMcp(request, response)
    if (url.pathname.endsWith('/sw.js')) return serviceWorkerScript(url, response)
    if (url.pathname === '/__sw-seen') {
      if (request.method === 'POST')
        swSeen.push((await readBody(request)).toString().slice(0, 2048))
      if (swSeen.length > 1000) swSeen.shift()
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ seen: swSeen }))
      return
    }
    if (url.pathname === '/__set-cookie') {
      response.setHeader('set-cookie', url.searchParams.getAll('c'))
      response.writeHead(200, { 'content-type': 'text/plain' })
      response.end('cookies set')
      return
    }
    const body = await readBody(request)
    const wantsHtml = (request.headers.accept ?? '').includes('text/html')
    if (wantsHtml && request.method === 'GET' && !status) {
      const email = String(request.headers['x-auth-email'] ?? 'nobody')
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      response.end(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo origin</title></head>` +
          `<body style="font-family:system-ui;margin:2rem"><h1>Demo origin</h1>` +
          `<p>Signed in as <strong id="email">${escapeHtml(email)}</strong> ` +
          `(<code id="user">${escapeHtml(String(request.headers['x-auth-user'] ?? ''))}</code>).</p>` +
          `<p>You asked for <code id="path">${escapeHtml(url.pathname + url.search)}</code>` +
          ` (ACCESS route: <code id="route">${escapeHtml(String(request.headers['x-auth-route'] ?? 'none'))}</code>).</p>` +
          `<form method="post" action="/auth/logout"><button>Sign out</button></form></body></html>`,
      )
      return
    }
    response.writeHead(status ? Number(status) : 200, {
      'content-type': 'application/json',
      'x-origin': 'demo',
    })
    response.end(
      JSON.stringify({
        method: request.method,
        path: url.pathname,
        query: url.search,
        rawUrl: request.url,
        headers: request.headers,
        rawHeaders: request.rawHeaders,
        bodyLength: body.length,
        body: body.length <= 4096 ? body.toString('utf8') : undefined,
      }),
    )
  }
}

/** What the /__ws socket reports first: what crossed the gateway with the upgrade. */
function upgradeReport(request: IncomingMessage, socket: WebSocket) {
  const header = (name: string) => {
    const value = request.headers[name]
    return Array.isArray(value) ? value.join(', ') : (value ?? null)
  }
  return {
    hello: true,
    path: new URL(request.url ?? '/', 'http://origin.local').pathname,
    host: header('host'),
    user: header('x-auth-user'),
    email: header('x-auth-email'),
    route: header('x-auth-route'),
    assertion: request.headers['x-auth-assertion'] !== undefined,
    // The token itself, for a test to verify as an origin would (its audience above all).
    assertionToken: header('x-auth-assertion'),
    origin: header('origin'),
    cookie: header('cookie'),
    forwardedHost: header('x-forwarded-host'),
    protocol: socket.protocol || null,
  }
}

function echoSocket(socket: WebSocket, request: IncomingMessage): void {
  const id = new URL(request.url ?? '/', 'http://origin.local').searchParams.get('id')
  if (id) {
    socket.on('close', (code: number, reason: Buffer) => {
      socketCloses.set(id, { code, reason: reason.toString(), at: Date.now() })
      if (socketCloses.size > 1000) socketCloses.delete(socketCloses.keys().next().value!)
    })
  }
  socket.send(JSON.stringify(upgradeReport(request, socket)))
  socket.on('message', (data: RawData, isBinary: boolean) => {
    const text = isBinary ? '' : data.toString()
    const close = /^__close(?: (\d{4})(?: (.*))?)?$/.exec(text)
    if (close?.[1]) socket.close(Number(close[1]), close[2] ?? '')
    else if (close) socket.close()
    else if (text === '__drop') socket.terminate()
    else socket.send(data, { binary: isBinary })
  })
}

function refuseUpgrade(socket: Socket, path: string): void {
  const body = JSON.stringify({ error: 'origin_refused_upgrade', path })
  socket.end(
    `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}

export function startDemoOrigin(port = 0, hostname = '127.0.0.1'): Promise<RunningOrigin> {
  const server: Server = createServer(handler())
  // The first offered subprotocol is chosen, so a test can see it negotiated end to end.
  const sockets = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => offered.values().next().value ?? false,
  })
  server.on('upgrade', (request, socket: Socket, head) => {
    const path = new URL(request.url ?? '/', 'http://origin.local').pathname
    if (path !== '/__ws') return refuseUpgrade(socket, path)
    sockets.handleUpgrade(request, socket, head, (ws) => echoSocket(ws, request))
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, hostname, () => {
      const { port: actual } = server.address() as AddressInfo
      resolve({
        url: `http://${hostname}:${actual}`,
        port: actual,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets.clients) socket.terminate()
            sockets.close()
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const origin = await startDemoOrigin(Number(process.env.DEMO_ORIGIN_PORT ?? 4200))
  console.log(`Demo origin listening on ${origin.url}`)
}
