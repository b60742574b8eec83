// `npm run token -- create NAME [--expires SECONDS] | list | revoke ID`: service tokens (machine
// credentials) through the gateway's admin API. The admin token comes from ADMIN_TOKEN (preferred:
// a command-line value is visible to other users in `ps` and stays in shell history).
import { parseArgs } from 'node:util'

const USAGE = `Usage: npm run token -- <command> [options]

Commands:
  create NAME [--expires SECONDS]  make a token (NAME: a-z, 0-9 and -; SECONDS: 60 to 31536000)
  list                             list the tokens (never their secrets)
  revoke ID                        revoke a token by its id (svc_…)

Options:
  --url URL            the gateway (default: $GATEWAY_URL, else http://localhost:3000)
  --admin-token TOKEN  the admin token (default: $ADMIN_TOKEN, which is safer)
  --json               print the API's JSON answer instead
  --help`

interface Token {
  id: string
  name: string
  clientId: string
  createdAt: string
  expiresAt: string | null
  lastUsedAt?: string | null
  clientSecret?: string
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'admin-token': { type: 'string' },
      expires: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const [command, argument, ...extra] = positionals
  if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra.join(' ')}`)
  if (values.expires !== undefined && command !== 'create')
    throw new UsageError('--expires applies to create only')

  const base = (values.url ?? process.env.GATEWAY_URL ?? 'http://localhost:3000').replace(
    /\/+$/,
    '',
  )
  const adminToken = values['admin-token'] ?? process.env.ADMIN_TOKEN
  const call = (method: string, path: string, body?: unknown) =>
    adminCall(base, adminToken, method, path, body)

  switch (command) {
    case 'create': {
      if (!argument) throw new UsageError('create needs a NAME, e.g. create ci-bot')
      let expiresInSeconds: number | undefined
      if (values.expires !== undefined) {
        if (!/^\d+$/.test(values.expires))
          throw new UsageError('--expires takes a whole number of seconds')
        expiresInSeconds = Number(values.expires)
      }
      const token = (await call('POST', '', { name: argument, expiresInSeconds })) as Token
      if (values.json) return console.log(JSON.stringify(token, null, 2))
      console.log(`Created service token "${token.name}" (${token.id}).
Expires: ${token.expiresAt ?? 'never'}

  Gateway-Client-Id:     ${token.clientId}
  Gateway-Client-Secret: ${token.clientSecret}
`)
      console.error(`Store the secret now (in your CI's or platform's secret store): it is shown only this
once and cannot be recovered. If it is lost, create a new token and revoke ${token.id}.`)
      return
    }
    case 'list': {
      if (argument) throw new UsageError(`list takes no argument (got ${argument})`)
      const { tokens } = (await call('GET', '')) as { tokens: Token[] }
      if (values.json) return console.log(JSON.stringify({ tokens }, null, 2))
      if (tokens.length === 0) return console.log('No service tokens.')
      printTable(
        ['ID', 'NAME', 'CLIENT ID', 'CREATED', 'EXPIRES', 'LAST USED'],
        tokens.map((t) => [
          t.id,
          t.name,
          t.clientId,
          t.createdAt,
          t.expiresAt ?? 'never',
          t.lastUsedAt ?? 'never',
        ]),
      )
      return
    }
    case 'revoke': {
      if (!argument) throw new UsageError('revoke needs a token id (svc_…); see `list`')
      const answer = await call('DELETE', `/${encodeURIComponent(argument)}`)
      if (values.json) return console.log(JSON.stringify(answer, null, 2))
      console.log(`Revoked ${argument}. It stops working at once where it was revoked, and everywhere
within about a minute (KV propagation plus SESSION_CACHE_SECONDS).`)
      return
    }
    case undefined:
      throw new UsageError('no command given')
    default:
      throw new UsageError(`unknown command: ${command}`)
  }
}

class ApiError extends Error {}

async function adminCall(
  base: string,
  adminToken: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  if (!adminToken) throw new UsageError('set ADMIN_TOKEN (or pass --admin-token)')
  const url = `${base}/auth/admin/service-tokens${path}`
  let response: Response
  try {
    response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        accept: 'application/json',
        // Sent on every call, DELETE included: a request without a content type counts as a
        // form post to the gateway's CSRF check, which a script has no Origin to pass.
        'content-type': 'application/json',
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    })
  } catch (error) {
    throw new ApiError(
      `cannot reach ${base}: ${(error as Error).cause ?? (error as Error).message}`,
    )
  }
  const text = await response.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  if (response.ok && parsed !== undefined) return parsed
  const problem = parsed as { error?: string; message?: string } | undefined
  const hint =
    response.status === 401
      ? ' (check ADMIN_TOKEN)'
      : response.status === 404 && problem?.error === 'not_found'
        ? ' (is ADMIN_TOKEN set on the gateway?)'
        : ''
  throw new ApiError(
    `${method} ${url} answered ${response.status}${problem?.error ? ` ${problem.error}` : ''}: ${
      problem?.message ?? (text.slice(0, 200) || response.statusText)
    }${hint}`,
  )
}

function printTable(header: string[], rows: string[][]) {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)))
  for (const row of [header, ...rows])
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
}

try {
  await main(process.argv.slice(2))
} catch (error) {
  if (
    error instanceof UsageError ||
    (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    console.error(`error: ${(error as Error).message}\n\n${USAGE}`)
    process.exitCode = 2
  } else if (error instanceof ApiError) {
    console.error(`error: ${error.message}`)
    process.exitCode = 1
  } else {
    throw error
  }
}
