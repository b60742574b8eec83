import * as z from 'zod/mini'
import { magicLinkKey } from '../kv/keys'
import { parseStored } from '../kv/stored-json'
import { keptUntil } from '../kv/ttl'
import { log } from '../log'

// Scanner-proof links (EMAIL_DELIVERY=custom): the email carries /auth/magic/<token>, and KV maps
// the token's hash to the WorkOS link it stands for until the person clicks Continue. A KV dump
// therefore holds WorkOS links but no token that leads to them through the gateway.

const pendingLinkSchema = z.object({
  link: z.string(),
  email: z.string(),
  expiresAt: z.number(),
})

export type PendingLink = z.infer<typeof pendingLinkSchema>

export async function savePendingLink(kv: KVNamespace, token: string, value: PendingLink) {
  await kv.put(await magicLinkKey(token), JSON.stringify(value), keptUntil(value.expiresAt))
}

/** The pending link, without spending it (a GET, a scanner, a preview). */
export async function peekPendingLink(kv: KVNamespace, token: string): Promise<PendingLink | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null
  const raw = await kv.get(await magicLinkKey(token), 'text')
  if (raw === null) return null
  const pending = parseStored(pendingLinkSchema, raw)
  if (pending && pending.expiresAt > Date.now()) return pending
  log({ event: 'pending_link_unreadable' })
  return null
}

/** The pending link, spent: deleted so the same email link cannot be continued twice. */
export async function takePendingLink(kv: KVNamespace, token: string): Promise<PendingLink | null> {
  const pending = await peekPendingLink(kv, token)
  if (pending) await kv.delete(await magicLinkKey(token))
  return pending
}
