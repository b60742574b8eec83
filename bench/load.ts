// `npm run load [-- --users 40 --seconds 10]`: a bounded load run on loopback against `npm run dev`.
// Many concurrent sign-ins (each its own address and client IP, through the emulator and the dev
// mailbox, codes and links alternating) while signed-in users and anonymous clients keep
// requesting. Checks that every sign-in ends in exactly one session for the right person, that
// no answer is a 5xx, that nothing reaches the origin without a session, and that identities
// never cross. Prints the figures; exits 1 if any check fails.
import { startDevServer, type DevServer } from '../e2e/dev-server.ts'

const arg = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`)
  return index === -1 ? fallback : Number(process.argv[index + 1])
}
const USERS = arg('users', 40)
const SECONDS = arg('seconds', 10)
const ANONYMOUS_CLIENTS = 4

interface User {
  email: string
  ip: string
  method: 'code' | 'link'
  cookie?: string
}

const failures: string[] = []
const latencies: number[] = []
let requests = 0
let fivexx = 0
let networkErrors = 0

async function timed(url: string, init: RequestInit = {}): Promise<Response> {
  const started = performance.now()
  try {
    const response = await fetch(url, { redirect: 'manual', ...init })
    latencies.push(performance.now() - started)
    requests++
    if (response.status >= 500) fivexx++
    return response
  } catch (error) {
    networkErrors++
    throw error
  }
}

const cookiesOf = (response: Response) =>
  response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .filter((c) => !c.endsWith('='))

async function mailFor(server: DevServer, email: string) {
  const response = await fetch(`${server.emulatorUrl}/__mailbox?to=${encodeURIComponent(email)}`)
  return ((await response.json()) as { messages: { code: string | null; link: string | null }[] })
    .messages
}

async function signIn(server: DevServer, user: User): Promise<void> {
  const headers = { 'content-type': 'application/json', 'cf-connecting-ip': user.ip }
  const route = user.method === 'code' ? '/auth/magic-auth' : '/auth/magic-link'
  const sent = await timed(`${server.url}${route}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email: user.email }),
  })
  if (sent.status !== 200) throw new Error(`send answered ${sent.status}`)
  const jar = cookiesOf(sent)
  const [mail] = await mailFor(server, user.email)
  let final: Response
  if (user.method === 'code') {
    final = await timed(`${server.url}/auth/magic-auth/verify`, {
      method: 'POST',
      headers: { ...headers, cookie: jar.join('; ') },
      body: JSON.stringify({ email: user.email, code: mail!.code }),
    })
  } else {
    const confirm = await fetch(mail!.link!, { redirect: 'manual' })
    final = await timed(confirm.headers.get('location')!, {
      headers: { cookie: jar.join('; '), 'cf-connecting-ip': user.ip },
    })
  }
  const session = cookiesOf(final).find((c) => c.startsWith('__Host-session='))
  if (!session) throw new Error(`sign-in answered ${final.status} without a session`)
  user.cookie = session
}

async function signedInTraffic(server: DevServer, users: User[], until: number) {
  while (Date.now() < until) {
    const ready = users.filter((u) => u.cookie)
    if (ready.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      continue
    }
    const user = ready[Math.floor(Math.random() * ready.length)]!
    const response = await timed(`${server.url}/whoami`, {
      headers: { cookie: user.cookie!, accept: 'application/json', 'cf-connecting-ip': user.ip },
    })
    if (response.status !== 200) {
      failures.push(`signed-in request for ${user.email} answered ${response.status}`)
      continue
    }
    const seen = (await response.json()) as { headers: Record<string, string> }
    if (seen.headers['x-auth-email'] !== user.email)
      failures.push(
        `identity crossed: ${user.email} was proxied as ${seen.headers['x-auth-email']}`,
      )
  }
}

async function anonymousTraffic(server: DevServer, until: number) {
  while (Date.now() < until) {
    const response = await timed(`${server.url}/whoami`, {
      headers: { accept: 'application/json' },
    })
    await response.arrayBuffer()
    if (response.status !== 401 || response.headers.get('x-origin'))
      failures.push(
        `an anonymous request answered ${response.status} (origin reached: ${Boolean(response.headers.get('x-origin'))})`,
      )
  }
}

const server = await startDevServer()
const started = Date.now()
try {
  const run = Date.now().toString(36)
  const users: User[] = Array.from({ length: USERS }, (_, i) => ({
    email: `load-${run}-${i}@example.com`,
    ip: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    method: i % 2 === 0 ? 'code' : 'link',
  }))
  const until = Date.now() + SECONDS * 1000
  const traffic = [
    ...Array.from({ length: 4 }, () => signedInTraffic(server, users, until)),
    ...Array.from({ length: ANONYMOUS_CLIENTS }, () => anonymousTraffic(server, until)),
  ]
  const signIns = await Promise.allSettled(users.map((user) => signIn(server, user)))
  signIns.forEach((result, i) => {
    if (result.status === 'rejected')
      failures.push(`sign-in of ${users[i]!.email} failed: ${String(result.reason)}`)
  })
  await Promise.all(traffic)

  // Every sign-in ended in exactly one live session, for the right person.
  for (const user of users.filter((u) => u.cookie)) {
    const sessions = (await (
      await timed(`${server.url}/auth/sessions`, {
        headers: { cookie: user.cookie!, accept: 'application/json' },
      })
    ).json()) as { sessions: unknown[] }
    if (sessions.sessions.length !== 1)
      failures.push(`${user.email} has ${sessions.sessions.length} sessions`)
    const me = (await (
      await timed(`${server.url}/auth/me`, { headers: { cookie: user.cookie! } })
    ).json()) as {
      user: { email: string }
    }
    if (me.user.email !== user.email)
      failures.push(`${user.email} is signed in as ${me.user.email}`)
  }

  const sorted = [...latencies].sort((a, b) => a - b)
  const pct = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
  const report = {
    signIns: USERS,
    signInsSucceeded: users.filter((u) => u.cookie).length,
    concurrency: { signIns: USERS, signedInClients: 4, anonymousClients: ANONYMOUS_CLIENTS },
    seconds: Math.round((Date.now() - started) / 100) / 10,
    requests,
    fivexx,
    networkErrors,
    p50Ms: Math.round(pct(50)),
    p99Ms: Math.round(pct(99)),
    failures: failures.length,
  }
  console.log(JSON.stringify(report, null, 2))
  for (const failure of failures.slice(0, 20)) console.log(`FAIL ${failure}`)
  if (failures.length > 0 || fivexx > 0 || networkErrors > 0) process.exitCode = 1
} finally {
  await server.stop()
}
