// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { sessionStore } from '../session/current'
import { revokeAllForPerson, revokeSessionsOf } from '../session/revoke'
import { personKeyOf } from '../session/store'
import { applied, type EventHandler } from './event'

// A directory (SCIM) user. SDK 11 reads `email`; WorkOS payloads have long carried the older
// `emails: [{primary, value}]` too, so either is accepted.
const directoryUserSchema = z.object({
  email: z.optional(z.nullable(z.string())),
  emails: z.optional(
    z.array(z.object({ value: z.string(), primary: z.optional(z.nullable(z.boolean())) })),
  ),
  organization_id: z.optional(z.nullable(z.string())),
})

const groupChangeSchema = z.object({
  user: directoryUserSchema,
  group: z.object({ name: z.string(), organization_id: z.optional(z.nullable(z.string())) }),
})

function emailOf(user: z.infer<typeof directoryUserSchema>): string | null {
  const email = user.email || user.emails?.find((e) => e.primary)?.value || user.emails?.[0]?.value
  return email || null
}

/** `dsync.user.deleted`: every session of that person ends, by the directory user's email. */
export const directoryUserDeleted: EventHandler = async (c, data) => {
  const user = directoryUserSchema.safeParse(data)
  const email = user.success ? emailOf(user.data) : null
  if (!email) return null
  return applied(await revokeAllForPerson(sessionStore(c), await personKeyOf(email)))
}

/**
 * `dsync.group.user_removed`: the person's SSO sessions in that organization that carry the group
 * end; the others are left alone. Ended rather than rewritten without the group, because taking
 * something away must be final, and only an end is: a rewrite is one more write to the session's
 * value, and a sliding refresh (or another rewrite) that read the session before it can land
 * after it and put the group back (KV keeps the last write), while an end leaves a marker every
 * read checks. The person signs in again and the IdP sends the groups they have now. Sessions
 * carry the IdP's groups as it sent them, which for the emulator and most SAML set-ups are the
 * group names: they are matched by name.
 */
export const directoryGroupUserRemoved: EventHandler = async (c, data) => {
  const change = groupChangeSchema.safeParse(data)
  if (!change.success) return null
  const { user, group } = change.data
  const email = emailOf(user)
  const organizationId = user.organization_id ?? group.organization_id
  if (!email || !organizationId) return null
  return applied(
    await revokeSessionsOf(
      sessionStore(c),
      await personKeyOf(email),
      (record) =>
        record.method === 'sso' &&
        record.organizationId === organizationId &&
        (record.groups ?? []).includes(group.name),
    ),
  )
}
