import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { expect } from 'vitest'
import worker from '../src/index'
import { GATEWAY, sessionKvKeyOf } from './helpers'

// Two gateway instances that share no KV, only the revocation authority (README "Revocation in
// seconds, everywhere"): instance B's KV holds what KV replication would have brought it, so
// only the authority can end a grant there.

const bindings = env as unknown as Record<string, unknown>
export const homeKv = bindings.SESSIONS as KVNamespace
export const elsewhereKv = bindings.SESSIONS_ELSEWHERE as KVNamespace
const realAuthority = bindings.REVOCATIONS as DurableObjectNamespace

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A gateway instance: one env object for all its requests, so its isolate's view persists. */
export function instance(settings: Record<string, unknown> = {}) {
  const own = { ...env, ...settings } as Env
  const request = async (path: string, init?: RequestInit) => {
    const ctx = createExecutionContext()
    const url = path.startsWith('https://') ? path : `${GATEWAY}${path}`
    const response = await worker.fetch(new Request(url, { redirect: 'manual', ...init }), own, ctx)
    await waitOnExecutionContext(ctx)
    return response
  }
  /** A WebSocket upgrade: the answer at once, the relay going on in the background. */
  const upgrade = async (path: string, headers: Record<string, string>) => {
    const ctx = createExecutionContext()
    const url = path.startsWith('https://') ? path : `${GATEWAY}${path}`
    const response = await worker.fetch(
      new Request(url, { headers: { upgrade: 'websocket', ...headers } }),
      own,
      ctx,
    )
    return { response, settled: () => waitOnExecutionContext(ctx) }
  }
  return Object.assign(request, { upgrade, env: own })
}

export type Instance = ReturnType<typeof instance>

/** What KV replication would have done by now: the session's record in instance B's KV. */
export async function replicate(cookie: string) {
  const key = await sessionKvKeyOf(cookie)
  const record = await homeKv.get(key)
  expect(record).not.toBeNull()
  await elsewhereKv.put(key, record!, { expirationTtl: 3600 })
  return key
}

/**
 * The real authority binding behind a platform probe: every call goes through to the real
 * Durable Object, counted; it can be made to fail or hang (the platform failing), or pointed at a
 * fresh object of the same class (the authority's storage reset), as an operator or the platform
 * could do. Nothing of the gateway's own is replaced.
 */
export function probedAuthority() {
  const state = {
    mode: 'up' as 'up' | 'down' | 'hanging',
    /** The object's name: a new one is an authority whose storage was reset. */
    generation: `probe-${crypto.randomUUID()}`,
    calls: new Map<string, number>(),
    /** Holds each subscription (the relay's WebSocket to the authority) back this long. */
    subscribeDelayMs: 0,
  }
  const idOf = (name: string) => realAuthority.idFromName(`${name}-${state.generation}`)
  const namespace = {
    idFromName: (name: string) => idOf(name),
    get: (id: DurableObjectId) => {
      const stub = realAuthority.get(id) as unknown as Record<string, (...a: unknown[]) => unknown>
      return new Proxy(stub, {
        get:
          (target, property: string) =>
          async (...args: unknown[]) => {
            state.calls.set(property, (state.calls.get(property) ?? 0) + 1)
            if (state.mode === 'down') throw new Error('authority unreachable')
            if (state.mode === 'hanging') return new Promise(() => {})
            if (property === 'fetch' && state.subscribeDelayMs > 0)
              await sleep(state.subscribeDelayMs)
            return target[property]!(...args)
          },
      })
    },
  }
  return {
    namespace,
    state,
    count: (property: string) => state.calls.get(property) ?? 0,
    /** The object as it stands now, for the platform's own acts on it (a restart). */
    object: () => realAuthority.get(idOf('ends')),
  }
}

/** Polls until `request` refuses `cookie` at `path` (401); how long that took from `since`. */
export async function refusedAfter(
  request: Instance,
  cookie: string,
  path: string,
  since: number,
  giveUpMs: number,
): Promise<number> {
  while (Date.now() - since < giveUpMs) {
    const response = await request(path, { headers: { cookie, accept: 'application/json' } })
    await response.body?.cancel()
    if (response.status === 401) return Date.now() - since
    expect(response.status).toBe(200)
    await sleep(50)
  }
  throw new Error(`still served ${giveUpMs} ms after the end`)
}

/** A relayed socket, accepted: how it was closed, or null when it is still open after `ms`. */
export function socketOf(response: Response) {
  expect(response.status).toBe(101)
  const socket = response.webSocket!
  socket.accept()
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.addEventListener('close', (event) =>
      resolve({ code: event.code, reason: event.reason, at: Date.now() }),
    ),
  )
  return {
    socket,
    closedWithin: (ms: number) => Promise.race([closed, sleep(ms).then(() => null)]),
  }
}

/** The socket closes with 1008 within `withinMs` of the end made at `endedAt`. */
export async function closedAfterEnd(
  socket: ReturnType<typeof socketOf>,
  endedAt: number,
  withinMs: number,
) {
  const closed = await socket.closedWithin(3000)
  expect(closed).toMatchObject({ code: 1008 })
  expect(closed!.at - endedAt).toBeLessThan(withinMs)
  return closed!
}
