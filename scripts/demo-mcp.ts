import type { IncomingMessage, ServerResponse } from 'node:http'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { z } from 'zod'

// A tiny MCP server (the official TypeScript SDK, Streamable HTTP, stateless) that the demo origin
// answers at /mcp, so `npm run dev` puts an MCP server behind the gateway with no setup and an
// MCP client can walk the whole OAuth flow offline (README "MCP clients"). Its tools:
//   whoami   who the gateway says is calling: X-Auth-Email, X-Auth-User, X-Auth-Client (the OAuth
//            client acting as the person), X-Auth-Route, whether an assertion came; and what
//            Authorization header reached this server (the gateway's own token never should)
//   echo     the text it was given
// Stateless: no MCP session, a new server and transport for each POST; GET (a server-sent event
// stream) and DELETE (ending a session) are 405, which clients take as "not offered".

export const MCP_PATH = '/mcp'

// Every MCP request this process answered, and how many carried an Authorization header: the
// gateway drops its own bearer token, so behind it the second number stays 0.
const seen = { requests: 0, withAuthorization: 0 }

/** One request header as text, or null. */
function header(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name]
  return Array.isArray(value) ? value.join(', ') : (value ?? null)
}

/** What reached this server for `request`, as whoami tells it. */
function whoami(request: IncomingMessage) {
  const authorization = header(request, 'authorization')
  return {
    email: header(request, 'x-auth-email'),
    user: header(request, 'x-auth-user'),
    organization: header(request, 'x-auth-organization'),
    client: header(request, 'x-auth-client'),
    route: header(request, 'x-auth-route'),
    assertion: header(request, 'x-auth-assertion') !== null,
    // The scheme only: a credential is not echoed back, even in a demo.
    authorization: authorization === null ? null : `${authorization.split(' ', 1)[0]} …`,
    mcpRequests: { ...seen },
  }
}

function serverFor(request: IncomingMessage): McpServer {
  const server = new McpServer({ name: 'gateway-demo-mcp', version: '1.0.0' })
  server.registerTool(
    'whoami',
    {
      title: 'Who am I',
      description: 'Who the gateway says is calling, as the headers it sent say.',
    },
    () => ({ content: [{ type: 'text', text: JSON.stringify(whoami(request)) }] }),
  )
  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description: 'Answers with the text it was given.',
      inputSchema: { text: z.string().max(10_000) },
    },
    ({ text }) => ({ content: [{ type: 'text', text }] }),
  )
  return server
}

function notOffered(response: ServerResponse): void {
  response.writeHead(405, { 'content-type': 'application/json', allow: 'POST' })
  response.end(
    JSON.stringify({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: this server is stateless (POST only).' },
      id: null,
    }),
  )
}

/** Answers one request to MCP_PATH. */
export async function handleMcp(request: IncomingMessage, response: ServerResponse): Promise<void> {
  seen.requests++
  if (request.headers.authorization !== undefined) seen.withAuthorization++
  if (request.method !== 'POST') return notOffered(response)
  const server = serverFor(request)
  // JSON answers rather than an event stream: one request, one answer, nothing held open.
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  })
  response.on('close', () => {
    void transport.close()
    void server.close()
  })
  await server.connect(transport)
  await transport.handleRequest(request, response)
}
