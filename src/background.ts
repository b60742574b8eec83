import type { AppContext } from './app-env'

/**
 * Work the response must not wait for (a sliding refresh, an email whose sending time would tell
 * who has an account): `waitUntil` keeps the isolate alive until it settles. Callers catch and log
 * their own failures; nothing here rejects.
 */
export function inBackground(c: AppContext, work: Promise<unknown>): void {
  const settled = work.then(
    () => undefined,
    () => undefined,
  )
  try {
    c.executionCtx.waitUntil(settled)
  } catch {
    // No execution context (app.request in a unit test): the work still runs.
  }
}
