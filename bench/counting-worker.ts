// Bench only: the gateway with its KV binding wrapped so every operation is counted, plus a
// route that reads and resets the counts. Used to count KV operations, never for timing.
import gateway from '../src/index'

const counts = { get: 0, put: 0, delete: 0, list: 0 }

function counting(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, name: string) {
      const value = (target as unknown as Record<string, unknown>)[name]
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (name in counts) counts[name as keyof typeof counts]++
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
}

let wrappedEnv: Env | undefined

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext) {
    if (new URL(request.url).pathname === '/__bench/kv') {
      const snapshot = { ...counts }
      Object.assign(counts, { get: 0, put: 0, delete: 0, list: 0 })
      return Response.json(snapshot)
    }
    // One wrapped env for the isolate, so the gateway's per-env caches behave as deployed.
    wrappedEnv ??= { ...env, SESSIONS: counting(env.SESSIONS) }
    return gateway.fetch(request, wrappedEnv, ctx)
  },
}

// The revocation authority the gateway records ends in (isolate.wrangler.toml binds it).
export { RevocationAuthority } from '../src/revocation/authority'
