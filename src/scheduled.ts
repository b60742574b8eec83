import { Hono } from 'hono'
import type { AppEnv } from './app-env'
import { configFor } from './config'
import { log, withRequestLog } from './log'
import { recoverLostEvents } from './webhooks/recover-events'

// The Cron Trigger (wrangler.toml [triggers]): what runs on a schedule, each job a route of an
// app that only the scheduled handler calls, so jobs get the same context, config and log line
// as a request, and nothing here is reachable from the internet.
const jobs = new Hono<AppEnv>()

jobs.use(async function jobLog(c, next) {
  const requestId = crypto.randomUUID()
  await withRequestLog(
    { requestId, job: c.req.path },
    async () => {
      c.set('requestId', requestId)
      c.set('config', configFor(c.env))
      await next()
    },
    (_, line) => {
      line.status = c.res.status
      return true
    },
  )
})

jobs.post('/events', async (c) => c.json(await recoverLostEvents(c)))

jobs.onError((error) => {
  log({ event: 'job_failed', error: error.name })
  return Response.json({ error: 'job_failed' }, { status: 500 })
})

/** Every scheduled run reads WorkOS's Events API for events whose webhook never arrived. */
export async function runScheduled(
  _controller: ScheduledController,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  const answer = await jobs.request('/events', { method: 'POST' }, env, ctx)
  // A failed run is reported to the platform (Cron Events show it); the next run goes on from
  // the cursor.
  if (!answer.ok) throw new Error(`scheduled job failed (${answer.status})`)
}
