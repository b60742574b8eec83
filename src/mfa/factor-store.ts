import * as z from 'zod/mini'
import { kvOrFailClosed } from '../kv/fail-closed'
import { mfaFactorKey, mfaUsedCodeKey } from '../kv/keys'
import { parseStored } from '../kv/stored-json'

// A person's TOTP factor, by reference: WorkOS keeps the secret; KV keeps only the factor's id,
// under the hash of the person's email (the same person key their sessions are indexed under).
// `confirmed` turns true once the person typed a right code from it: an enrolment abandoned
// halfway never counts as a second factor.

const factorRecord = z.object({
  factorId: z.string(),
  enrolledAt: z.number(),
  confirmed: z.boolean(),
})
export type FactorRecord = z.infer<typeof factorRecord>

export async function factorOf(kv: KVNamespace, personKey: string): Promise<FactorRecord | null> {
  return parseStored(
    factorRecord,
    await kvOrFailClosed(() => kv.get(mfaFactorKey(personKey), 'text')),
  )
}

export async function saveFactor(kv: KVNamespace, personKey: string, record: FactorRecord) {
  await kvOrFailClosed(() => kv.put(mfaFactorKey(personKey), JSON.stringify(record)))
}

export async function forgetFactor(kv: KVNamespace, personKey: string) {
  await kvOrFailClosed(() => kv.delete(mfaFactorKey(personKey)))
}

// RFC 6238 §5.2: a code that was accepted once must not be accepted again (someone who saw it
// over a shoulder, or a replayed request, while it is still inside its window). WorkOS checks
// codes per challenge, and each verification makes a new challenge, so the gateway remembers the
// codes it accepted, per person, for as long as one can still verify: its 30-second step plus one
// step of drift either side (90 s; 120 s here, and KV's minimum TTL is 60 s). The key is a hash
// of the person key and the code (mfaUsedCodeKey), so a KV dump lists no codes. KV has no compare-and-set: two
// requests with the same code at the same instant can both pass, which the per-client and
// per-session limits bound.
const USED_CODE_SECONDS = 120

export async function wasCodeUsed(kv: KVNamespace, personKey: string, code: string) {
  const key = await mfaUsedCodeKey(personKey, code)
  return (await kvOrFailClosed(() => kv.get(key, 'text'))) !== null
}

export async function rememberUsedCode(kv: KVNamespace, personKey: string, code: string) {
  const key = await mfaUsedCodeKey(personKey, code)
  await kvOrFailClosed(() => kv.put(key, '1', { expirationTtl: USED_CODE_SECONDS }))
}
