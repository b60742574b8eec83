// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { sessionStore } from '../session/current'
import { revokeAllForPerson, revokeSessionsOf } from '../session/revoke'
import type { SessionRecord } from '../session/record'
import { personKeyOf } from '../session/store'
import { organizationVouchesFor } from '../sso/organization-domains'
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

const ssoSessionIn = (organizationId: string) => (record: SessionRecord) =>
  record.method === 'sso' && record.organizationId === organizationId

/**
 * `dsync.user.deleted`: ends what the directory's organization vouches for, by the directory
 * user's email. A directory is a tenant's: it may list any address, so it does not reach
 * everyone with that address. At one of the organization's verified domains, every session of
 * that person ends (the organization owns that mailbox, and could sign in through it anyway);
 * otherwise only the person's SSO sessions in that organization. No organization named: nothing.
 * WorkOS out of reach for the organization's domains: 503, and WorkOS delivers the event again.
 */
export const directoryUserDeleted: EventHandler = async (c, data) => {
  const user = directoryUserSchema.safeParse(data)
  if (!user.success) return null
  const email = emailOf(user.data)
  const organizationId = user.data.organization_id
  if (!email || !organizationId) return null
  const store = sessionStore(c)
  const person = await personKeyOf(email)
  if (await organizationVouchesFor(c, organizationId, email))
    return applied(await revokeAllForPerson(store, person))
  return applied(await revokeSessionsOf(store, person, ssoSessionIn(organizationId)))
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
        ssoSessionIn(organizationId)(record) && (record.groups ?? []).includes(group.name),
    ),
  )
}
