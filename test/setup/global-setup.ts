import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startEmulator } from '../../emulator/server.ts'
import { startDemoOrigin } from '../../scripts/demo-origin.ts'

// Runs in Node before the Workers pool starts: a real emulator and a real origin on free loopback
// ports, handed to the Worker as bindings (vitest.config.mts).

export const TEST_GATEWAY_ORIGIN = 'https://gateway.test'
export const TEST_AUDIT_ORGANIZATION_ID = 'org_01AUD1T0000000000000000000'
export const TEST_WEBHOOK_SECRET = 'whsec_test_0123456789abcdef'

// Everything the Worker logs during the whole run (vitest.config.mts appends it here); at the end
// it is scanned for what must never be logged.
export const WORKER_LOG = new URL('../../.ci/worker-log.txt', import.meta.url).pathname

const NEVER_LOGGED: [string, RegExp][] = [
  ['an email address', /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/],
  ['a gateway cookie', /__Host-(session|signin|magic-auth)=[A-Za-z0-9_.-]{8,}/],
  ['a WorkOS API key', /sk_(test|live)_/],
  ['a mail API key', /re_dev_emulator/],
  ['a webhook secret', /whsec_/],
  ['a session secret', /session-secret/],
  ['a Magic Link', /\/passwordless\/[A-Za-z0-9_-]{8,}\/confirm/],
  ['a gateway link', /\/auth\/magic\/[A-Za-z0-9_-]{8,}/],
  ['a one-time code', /\b\d{6}\b/],
  ['a JWT', /eyJ[A-Za-z0-9_-]{8,}\.eyJ/],
  ['an OAuth token of the gateway', /gw(at|rt)_/],
  ['a token-like string', /[A-Za-z0-9_-]{40,}/],
]

function scanWorkerLog(): void {
  const text = readFileSync(WORKER_LOG, 'utf8')
  const lines = text.split('\n').filter(Boolean)
  const leaks = NEVER_LOGGED.flatMap(([what, pattern]) => {
    const count = lines.filter((line) => pattern.test(line)).length
    return count ? [`${what} (${count} lines)`] : []
  })
  console.log(`log scan: ${lines.length} log lines from the Worker checked; leaks: ${leaks.length}`)
  if (leaks.length > 0) {
    // A teardown error alone does not fail vitest's exit code; this does.
    console.error(
      `The Worker logged what it must never log: ${leaks.join(', ')}. See ${WORKER_LOG}.`,
    )
    process.exitCode = 1
  }
}

/** Every audit event the emulator received during the run (the newest 10,000). */
async function auditEventsOf(emulatorUrl: string): Promise<string[]> {
  const answer = await fetch(`${emulatorUrl}/__audit_logs`)
  const { events } = (await answer.json()) as { events: { event: unknown }[] }
  return events.map(({ event }) => JSON.stringify(event))
}

/**
 * Audit events go to WorkOS, where a person's address is the actor's name: with addresses set
 * aside (a long one would pass for a token), every other pattern the log scan looks for must be
 * absent from them too.
 */
/**
 * The first match of `pattern` in an audit event. A token-like run must also look random (10
 * distinct characters or more): an operator's 64-letter service-token name, or a route's, is
 * something WorkOS is told on purpose, not a secret.
 */
function leakIn(text: string, what: string, pattern: RegExp): string | undefined {
  if (what !== 'a token-like string') return pattern.exec(text)?.[0]
  const runs = text.match(new RegExp(pattern.source, 'g')) ?? []
  return runs.find((run) => new Set(run).size >= 10)
}

function scanAuditEvents(events: string[]): void {
  const [, emailPattern] = NEVER_LOGGED.find(([what]) => what === 'an email address')!
  const everyEmail = new RegExp(emailPattern.source, 'g')
  const texts = events.map((event) => event.replace(everyEmail, '<email>'))
  const leaks = NEVER_LOGGED.filter(([what]) => what !== 'an email address').flatMap(
    ([what, pattern]) => {
      const found = texts.map((text) => leakIn(text, what, pattern)).filter((match) => match)
      // Enough of the first match to find it, never the whole of what may be a secret.
      return found.length
        ? [`${what} (${found.length} events; the first starts "${found[0]!.slice(0, 8)}…")`]
        : []
    },
  )
  console.log(`audit scan: ${events.length} audit events checked; leaks: ${leaks.length}`)
  if (leaks.length > 0) {
    console.error(`An audit event carried what it must never carry: ${leaks.join(', ')}.`)
    process.exitCode = 1
  }
}

export default async function setup(project: TestProject) {
  mkdirSync(dirname(WORKER_LOG), { recursive: true })
  writeFileSync(WORKER_LOG, '')
  const emulator = await startEmulator({
    port: 0,
    apiKey: 'sk_test_emulator',
    clientId: 'client_emulator',
    emailApiKey: 're_dev_emulator',
    redirectUris: [`${TEST_GATEWAY_ORIGIN}/auth/callback`],
    webhookSecret: TEST_WEBHOOK_SECRET,
    // The organization audit events without one of their own are filed under
    // (AUDIT_ORGANIZATION_ID in vitest.config.mts).
    organizations: [{ id: TEST_AUDIT_ORGANIZATION_ID, name: 'Gateway', domains: [], sso: false }],
  })
  const origin = await startDemoOrigin(0)
  const secondOrigin = await startDemoOrigin(0)
  project.provide('emulatorUrl', emulator.url)
  project.provide('originUrl', origin.url)
  project.provide('secondOriginUrl', secondOrigin.url)
  return async () => {
    const audited = await auditEventsOf(emulator.url)
    await Promise.all([emulator.close(), origin.close(), secondOrigin.close()])
    scanWorkerLog()
    scanAuditEvents(audited)
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    emulatorUrl: string
    originUrl: string
    secondOriginUrl: string
  }
}
