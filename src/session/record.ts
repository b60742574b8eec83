// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { perObject } from '../per-object'
import {
  SIGN_IN_METHODS,
  STORED_METHODS,
  methodOfStored,
  type SignInMethod,
} from '../sign-in/methods'

/** What the gateway keeps about one signed-in browser. Stored as JSON; see STORAGE.md. */
export const sessionRecordSchema = z.object({
  v: z.literal(1),
  /** A non-secret handle for this session (logs, the sessions page); never the cookie id. */
  sid: z.string(),
  /**
   * The WorkOS id of what authenticated: a `prof_…` profile (Magic Link, SSO) or a `user_…` user
   * (Magic Auth).
   */
  userId: z.string(),
  /** Lowercased; the person. */
  email: z.string(),
  firstName: z.nullable(z.string()),
  lastName: z.nullable(z.string()),
  /** The sign-in method's stored name (src/sign-in/methods.ts): magic_auth, magic_link or sso. */
  method: z.enum(STORED_METHODS),
  /** Epoch milliseconds; also the sign-in moment (`auth_time`): a refresh never moves it. */
  createdAt: z.number(),
  /** The absolute end: no refresh goes past it. */
  expiresAt: z.number(),
  /** When the session was last refreshed (so "last seen" is accurate to half the idle window). */
  lastSeenAt: z.number(),
  /** The idle end: pushed forward by a sliding refresh, never past expiresAt. */
  idleExpiresAt: z.number(),
  ip: z.string(),
  userAgent: z.string(),
  /** SSO only: the WorkOS organization and connection the person signed in through. */
  organizationId: z.optional(z.string()),
  connectionId: z.optional(z.string()),
  /** SSO only: role slugs, and the IdP's groups as it sent them. */
  roles: z.optional(z.array(z.string())),
  groups: z.optional(z.array(z.string())),
  /** Epoch ms when this session passed a second factor (TOTP); absent until then. */
  mfaAt: z.optional(z.number()),
  /**
   * A host session (SIGN_IN_HOST): the host it was handed to, and the handle of the sign-in
   * session it came from. Absent for sessions made by signing in.
   */
  host: z.optional(z.string()),
  parent: z.optional(z.string()),
  /**
   * An OAuth grant (src/oauth/): the client it was granted to (its own name for itself) and the
   * one resource its tokens are for. Absent for browser sessions.
   */
  oauth: z.optional(
    z.object({
      clientId: z.string(),
      clientName: z.string(),
      resource: z.string(),
      scope: z.optional(z.string()),
    }),
  ),
})

export type SessionRecord = z.infer<typeof sessionRecordSchema>

export const isLive = (record: SessionRecord, now = Date.now()) =>
  record.expiresAt > now && record.idleExpiresAt > now

/** How the person proved who they are, in the terms of ACCESS and the assertion. */
export const authMethodOf = (record: SessionRecord): SignInMethod => methodOfStored(record.method)

// RFC 8176 authentication method references: the method's own (the registry's `amr`), and "mfa"
// once a second factor was checked.
const amrOf = (record: SessionRecord) => SIGN_IN_METHODS[authMethodOf(record)].amr

/** The identity a session's requests carry to the origin (headers and the assertion). */
const identityOf = (record: SessionRecord) =>
  Object.freeze({
    kind: 'person' as const,
    userId: record.userId,
    email: record.email,
    sid: record.sid,
    authTime: record.createdAt,
    amr: Object.freeze(record.mfaAt === undefined ? [amrOf(record)] : [amrOf(record), 'mfa']),
    organizationId: record.organizationId,
    roles: record.roles,
    groups: record.groups,
    clientId: record.oauth?.clientId,
  })

/**
 * Who a session is for, as the origin is told. One frozen object per record: a cached session
 * answers a browser's every request with the same record, and the assertion made for it is
 * remembered by this object (src/assertion/sign.ts).
 */
export const personOf = perObject(identityOf)
