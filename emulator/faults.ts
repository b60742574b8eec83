import type { Context, MiddlewareHandler } from 'hono'
import { z } from 'zod'

// stripe-mock style fault switch (README "Tests": `/__faults`): POST /__faults arms a fault for the next `count`
// matching calls; it answers before the route runs, so a faulted call has no side effect (but see
// `after` below).
// A fault with only `delayMs` (no status, body or drop) delays the call and then lets it through:
// a slow answer. `drop: true` closes the connection without an answer.
// `after: true` lets the route run first and then loses its answer (the delay, status, body or drop
// replace it): the call took effect but the caller sees a failure, as when WorkOS stored an event
// and the answer was lost on the way back. This is what a caller's idempotent retry is tested with.

export const faultSchema = z
  .object({
    method: z.string().toUpperCase().optional(),
    path: z.string().startsWith('/'),
    status: z.number().int().min(100).max(599).optional(),
    body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    delayMs: z.number().int().min(0).max(120_000).optional(),
    count: z.number().int().min(1).default(1),
    drop: z.boolean().optional(),
    after: z.boolean().optional(),
  })
  .strict()

export type Fault = z.infer<typeof faultSchema>

export class FaultSwitch {
  private faults: Fault[] = []

  arm(fault: Fault): void {
    this.faults.push(fault)
  }

  list(): Fault[] {
    return this.faults.map((fault) => ({ ...fault }))
  }

  clear(): void {
    this.faults = []
  }

  /** Takes one use of the first fault that matches this call, if any. */
  take(method: string, path: string): Fault | undefined {
    const fault = this.faults.find(
      (f) =>
        (!f.method || f.method === method) &&
        (f.path.endsWith('*') ? path.startsWith(f.path.slice(0, -1)) : path === f.path),
    )
    if (!fault) return undefined
    fault.count -= 1
    if (fault.count <= 0) this.faults = this.faults.filter((f) => f !== fault)
    return fault
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function injectFaults(faults: FaultSwitch): MiddlewareHandler {
  return async function injectFaults(c: Context, next) {
    if (c.req.path.startsWith('/__')) return next()
    const fault = faults.take(c.req.method, c.req.path)
    if (!fault) return next()
    if (!fault.after) return faultAnswer(c, fault, next)
    await next()
    // Hono merges the route's headers into a replacing response; forget its answer entirely first.
    const answer = await faultAnswer(c, fault, async () => {})
    if (answer) {
      c.res = undefined
      c.res = answer
    }
  }
}

/** The fault's answer, or undefined when it only delays and `next` answers. */
async function faultAnswer(
  c: Context,
  fault: Fault,
  next: () => Promise<void>,
): Promise<Response | undefined> {
  if (fault.delayMs) await sleep(fault.delayMs)
  if (fault.drop) {
    const incoming = (c.env as { incoming?: { socket?: { destroy(): void } } } | undefined)
      ?.incoming
    incoming?.socket?.destroy()
    return new Response(null, { status: 500 })
  }
  const onlyDelay = fault.status === undefined && fault.body === undefined && fault.delayMs
  if (onlyDelay) {
    await next()
    return undefined
  }
  const status = fault.status ?? 500
  const headers = new Headers(fault.headers)
  if (typeof fault.body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8')
    return new Response(fault.body, { status, headers })
  }
  headers.set('content-type', 'application/json')
  const body = fault.body ?? { message: 'Injected fault.', code: 'injected_fault' }
  return new Response(JSON.stringify(body), { status, headers })
}
