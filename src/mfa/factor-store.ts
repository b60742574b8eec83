import * as z from 'zod/mini'
import { sha256 } from '../crypto'
import { kvOrFailClosed } from '../session/current'

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

const keyFor = (personKey: string) => `mfa-factor:${personKey}`

export async function factorOf(kv: KVNamespace, personKey: string): Promise<FactorRecord | null> {
  const raw = await kvOrFailClosed(() => kv.get(keyFor(personKey), 'text'))
  if (raw === null) return null
  try {
    const parsed = factorRecord.safeParse(JSON.parse(raw))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}

export async function saveFactor(kv: KVNamespace, personKey: string, record: FactorRecord) {
  await kvOrFailClosed(() => kv.put(keyFor(personKey), JSON.stringify(record)))
}

export async function forgetFactor(kv: KVNamespace, personKey: string) {
  await kvOrFailClosed(() => kv.delete(keyFor(personKey)))
}

// RFC 6238 §5.2: a code that was accepted once must not be accepted again (someone who saw it
// over a shoulder, or a replayed request, while it is still inside its window). WorkOS checks
// codes per challenge, and each verification makes a new challenge, so the gateway remembers the
// codes it accepted, per person, for as long as one can still verify: its 30-second step plus one
// step of drift either side (90 s; 120 s here, and KV's minimum TTL is 60 s). The key is a hash
// of the person key and the code, so a KV dump lists no codes. KV has no compare-and-set: two
// requests with the same code at the same instant can both pass, which the per-client and
// per-session limits bound.
const USED_CODE_SECONDS = 120

const usedKeyFor = async (personKey: string, code: string) =>
  `mfa-used:${await sha256(`${personKey}:${code}`)}`

export async function wasCodeUsed(kv: KVNamespace, personKey: string, code: string) {
  const key = await usedKeyFor(personKey, code)
  return (await kvOrFailClosed(() => kv.get(key, 'text'))) !== null
}

export async function rememberUsedCode(kv: KVNamespace, personKey: string, code: string) {
  const key = await usedKeyFor(personKey, code)
  await kvOrFailClosed(() => kv.put(key, '1', { expirationTtl: USED_CODE_SECONDS }))
}
