import type { AppContext } from '../app-env'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { randomToken } from '../crypto'
import { kvOrFailClosed } from '../kv/fail-closed'
import { oauthCodeKey } from '../kv/keys'
import { parseStored } from '../kv/stored-json'
import { KV_MIN_TTL_SECONDS } from '../kv/ttl'

// Authorization codes (RFC 6749 §4.1.2, OAuth 2.1): what an approved consent sends to the
// client's redirect URI, exchanged once at the token endpoint. KV keeps each under the code's
// SHA-256 (a KV dump opens nothing), with everything it is bound to. An exchanged code is not
// deleted but rewritten with the grant it made (`usedBy`): KV gives no read-after-delete
// guarantee across locations, and a second use must find out which grant to end.

/** How long a code can be exchanged: 60 s (also KV's shortest expiry). */
export const CODE_SECONDS = 60
/**
 * How long an exchanged code is remembered: a replay within it ends the grant the first use made,
 * even after the code itself could no longer be exchanged.
 */
const USED_CODE_SECONDS = 10 * 60

const codeRecordSchema = z.object({
  v: z.literal(1),
  clientId: z.string(),
  redirectUri: z.string(),
  resource: z.string(),
  /** BASE64URL(SHA-256(code_verifier)): the client's PKCE challenge (S256 only). */
  codeChallenge: z.string(),
  scope: z.optional(z.string()),
  /** The handle (SHA-256 of the id) of the browser session that consented, and its person. */
  sessionHandle: z.string(),
  personKey: z.string(),
  expiresAt: z.number(),
  /** Once exchanged: the handle of the grant the exchange made. */
  usedBy: z.optional(z.string()),
})
export type CodeRecord = z.infer<typeof codeRecordSchema>

/** What a code is bound to, as the consent approved it. */
export type CodeGrant = Omit<CodeRecord, 'v' | 'expiresAt' | 'usedBy'>

// 32 random bytes, base64url: what issueCode makes. Anything else is not looked up.
const CODE_SHAPE = /^[A-Za-z0-9_-]{43}$/

/** A new code for an approved consent, exchangeable for CODE_SECONDS. */
export async function issueCode(c: AppContext, grant: CodeGrant): Promise<string> {
  const code = randomToken(32)
  const record: CodeRecord = { v: 1, ...grant, expiresAt: Date.now() + CODE_SECONDS * 1000 }
  await kvOrFailClosed(async () =>
    c.env.SESSIONS.put(await oauthCodeKey(code), JSON.stringify(record), {
      expirationTtl: KV_MIN_TTL_SECONDS,
    }),
  )
  return code
}

/**
 * The record of a code, used or not (the caller decides: a used one is a replay), or null for an
 * unknown, malformed or forgotten code. Its `expiresAt` is not checked here.
 */
export async function readCode(c: AppContext, code: string): Promise<CodeRecord | null> {
  if (!CODE_SHAPE.test(code)) return null
  const key = await oauthCodeKey(code)
  return parseStored(codeRecordSchema, await kvOrFailClosed(() => c.env.SESSIONS.get(key, 'text')))
}

/** Marks a code exchanged, naming the grant it made, so a replay can end that grant. */
export async function markCodeUsed(
  c: AppContext,
  code: string,
  record: CodeRecord,
  grantHandle: string,
): Promise<void> {
  const used: CodeRecord = { ...record, usedBy: grantHandle }
  await kvOrFailClosed(async () =>
    c.env.SESSIONS.put(await oauthCodeKey(code), JSON.stringify(used), {
      expirationTtl: USED_CODE_SECONDS,
    }),
  )
}
