import type * as z from 'zod/mini'
import { kvOrFailClosed } from './fail-closed'
import { parseStored } from './stored-json'

/**
 * An answer asked of WorkOS, kept in KV for `ttlSeconds` so every isolate shares it: the stored
 * answer when it parses, else `ask`'s, stored (an unreadable one is asked again). KV that fails
 * or hangs refuses the request (503) rather than guessing.
 */
export async function readThrough<T>(
  kv: KVNamespace,
  key: string,
  schema: z.ZodMiniType<T>,
  ttlSeconds: number,
  ask: () => Promise<T>,
): Promise<T> {
  const stored = parseStored(schema, await kvOrFailClosed(() => kv.get(key, 'text')))
  if (stored !== null) return stored
  const answer = await ask()
  await kvOrFailClosed(() => kv.put(key, JSON.stringify(answer), { expirationTtl: ttlSeconds }))
  return answer
}
