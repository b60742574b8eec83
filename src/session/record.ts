// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'

/** What the gateway keeps about one signed-in browser. Stored as JSON; see STORAGE.md. */
export const sessionRecordSchema = z.object({
  v: z.literal(1),
  /** A non-secret handle for this session (logs, the sessions page); never the cookie id. */
  sid: z.string(),
  /** The WorkOS id of what authenticated: a `prof_…` (Magic Link) or a `user_…` (Magic Auth). */
  userId: z.string(),
  /** Lowercased; the person. */
  email: z.string(),
  firstName: z.nullable(z.string()),
  lastName: z.nullable(z.string()),
  method: z.enum(['magic_link', 'magic_auth']),
  /** Epoch milliseconds. */
  createdAt: z.number(),
  /** The absolute end: no refresh goes past it. */
  expiresAt: z.number(),
  /** When the session was last refreshed (so "last seen" is accurate to half the idle window). */
  lastSeenAt: z.number(),
  /** The idle end: pushed forward by a sliding refresh, never past expiresAt. */
  idleExpiresAt: z.number(),
  ip: z.string(),
  userAgent: z.string(),
})

export type SessionRecord = z.infer<typeof sessionRecordSchema>

export const isLive = (record: SessionRecord, now = Date.now()) =>
  record.expiresAt > now && record.idleExpiresAt > now

/** The identity a session's requests carry to the origin. */
export const personOf = (record: SessionRecord) => ({
  kind: 'person' as const,
  userId: record.userId,
  email: record.email,
  sid: record.sid,
})
