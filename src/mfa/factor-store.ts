import * as z from 'zod/mini'
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
