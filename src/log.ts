import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * Structured logging: one JSON line per request (written by `requestLog` in index.ts) carrying
 * the request id, route, status, duration and outcome, plus whatever the handlers noted on the
 * way. Callers pass only fields that are safe to keep: never an email in clear (use
 * `maskEmail`), a cookie, a code, a link, a token or a secret.
 */

type Fields = Record<string, unknown>

const current = new AsyncLocalStorage<Fields>()
// Lines already written: background work (waitUntil) that logs after the answer gets a line of
// its own, tied to the request by its id.
const written = new WeakSet<Fields>()

/** Notes fields for this request's line (or prints them at once outside a request). */
export function log(fields: Fields): void {
  const line = current.getStore()
  if (!line || written.has(line)) {
    const requestId = line?.requestId
    console.log(
      JSON.stringify({
        time: new Date().toISOString(),
        ...(requestId !== undefined && { requestId, background: true }),
        ...fields,
      }),
    )
    return
  }
  // `event` names what happened; the latest one is the request's outcome unless set otherwise.
  const { event, ...rest } = fields
  Object.assign(line, rest)
  if (typeof event === 'string') {
    if (!('outcome' in rest)) line.outcome = event
    ;(line.events as string[]).push(event)
  }
}

/** Runs a request with its own log line, and writes it once the request is answered. */
export async function withRequestLog<T>(
  base: Fields,
  handle: () => Promise<T>,
  /** Completes the line; false skips writing it. */
  finish: (result: T | undefined, line: Fields) => boolean,
): Promise<T> {
  const line: Fields = { ...base, events: [] }
  const started = Date.now()
  let result: T | undefined
  try {
    result = await current.run(line, handle)
    return result
  } finally {
    written.add(line)
    const keep = finish(result, line)
    line.durationMs = Date.now() - started
    if ((line.events as string[]).length === 0) delete line.events
    if (keep) console.log(JSON.stringify({ time: new Date().toISOString(), ...line }))
  }
}

/** "a***@example.com": enough to tell addresses apart in an incident, not to read them. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@')
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`
}
