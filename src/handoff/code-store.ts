import * as z from 'zod/mini'
import { kvOrFailClosed } from '../kv/fail-closed'
import { handoffCodeKey } from '../kv/keys'
import { parseStored } from '../kv/stored-json'
import { KV_MIN_TTL_SECONDS } from '../kv/ttl'
import { sessionRecordSchema } from '../session/record'

// The one-time code the sign-in host gives the browser to carry to the app host: KV keeps it under
// the code's SHA-256 (a KV dump opens nothing), with the host and the browser nonce's hash it is
// bound to, and a copy of the sign-in session's record the host session is made from. Taken once.

export const HANDOFF_CODE_SECONDS = 60

const handoffCode = z.object({
  host: z.string(),
  nonceHash: z.string(),
  returnTo: z.string(),
  parentHandle: z.string(),
  parent: sessionRecordSchema,
  expiresAt: z.number(),
})
export type HandoffCode = z.infer<typeof handoffCode>

export async function saveHandoffCode(kv: KVNamespace, code: string, value: HandoffCode) {
  await kvOrFailClosed(async () =>
    kv.put(await handoffCodeKey(code), JSON.stringify(value), {
      expirationTtl: KV_MIN_TTL_SECONDS,
    }),
  )
}

/** The code's record, deleted as it is read: a second use finds nothing. */
export async function takeHandoffCode(kv: KVNamespace, code: string): Promise<HandoffCode | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(code)) return null
  const key = await handoffCodeKey(code)
  const raw = await kvOrFailClosed(() => kv.get(key, 'text'))
  if (raw === null) return null
  await kvOrFailClosed(() => kv.delete(key))
  const handoff = parseStored(handoffCode, raw)
  return handoff && handoff.expiresAt > Date.now() ? handoff : null
}
