import type { AppContext } from '../app-env'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { WorkosUnavailableError } from '../errors'
import type { SessionRecord } from '../session/record'
import { sessionStore } from '../session/current'
import { revokeSessionsOf } from '../session/revoke'
import { personKeyOf, type SessionStore } from '../session/store'
import { loggedWorkosFailure, withDeadline, workosClient } from '../workos'
import { applied, type Applied, type EventHandler } from './event'
import { eventOrder, type EventSubject } from './event-order'

const membershipSchema = z.object({
  user_id: z.string(),
  organization_id: z.string(),
  status: z.optional(z.string()),
  role: z.optional(z.nullable(z.object({ slug: z.string() }))),
  roles: z.optional(z.nullable(z.array(z.object({ slug: z.string() })))),
})

type Membership = z.infer<typeof membershipSchema>

/**
 * The person (SHA-256 of the lowercased email) a WorkOS user is: a membership names a `user_…`
 * id, not an email. The gateway's own `user:<id>` mapping answers first, with no call out; it is
 * there when this user signed in here by code (Magic Auth sessions carry the user id, while SSO
 * sessions carry a `prof_…` profile id and are mapped under that). Otherwise WorkOS is asked
 * (`userManagement.getUser`). A user WorkOS does not have is nobody here (null). WorkOS out of
 * reach (or refusing our key) answers 503, and WorkOS delivers the event again: the replay marker is written only
 * once an event has been applied.
 */
async function personOfUser(c: AppContext, store: SessionStore, userId: string) {
  const mapped = await store.personForUserId(userId)
  if (mapped) return mapped
  const config = c.get('config')
  try {
    const user = await withDeadline(config, workosClient(config).userManagement.getUser(userId))
    return personKeyOf(user.email)
  } catch (error) {
    const failure = loggedWorkosFailure('webhook_failed', error)
    // Refused (no such user, most often): asking again would not change the answer.
    if (failure.kind === 'rejected') return null
    throw new WorkosUnavailableError(
      failure.kind === 'rate_limited' ? failure.retryAfterSeconds : 5,
    )
  }
}

/** The person's SSO sessions in the membership's organization are the ones a membership governs. */
const inOrganization = (membership: Membership) => (record: SessionRecord) =>
  record.method === 'sso' && record.organizationId === membership.organization_id

const subjectOf = (membership: Membership): EventSubject => ({
  kind: 'membership',
  userId: membership.user_id,
  organizationId: membership.organization_id,
})

/**
 * The membership and its person; null when the data is not a membership, names nobody, or (for
 * an event that sets state: `onlyIfNewer`) is older than a membership event applied already.
 */
async function parseMembership(c: AppContext, data: unknown, at: number, onlyIfNewer: boolean) {
  const membership = membershipSchema.safeParse(data)
  if (!membership.success) return null
  const order = eventOrder(c.env.SESSIONS, c.get('config').sessionTtlSeconds)
  if (onlyIfNewer && (await order.isOlderThanApplied(subjectOf(membership.data), at))) return null
  const store = sessionStore(c)
  const person = await personOfUser(c, store, membership.data.user_id)
  return person === null ? null : { store, order, person, membership: membership.data }
}

/**
 * `organization_membership.deleted`: the person's SSO sessions in that organization end. Always
 * applied (an end is never undone by order), and it is the newest state: an update from before
 * it that arrives later grants nothing.
 */
export const membershipDeleted: EventHandler = async (c, data, { at }) => {
  const parsed = await parseMembership(c, data, at, false)
  if (!parsed) return null
  const { store, order, person, membership } = parsed
  const outcome = applied(await revokeSessionsOf(store, person, inOrganization(membership)))
  await order.rememberApplied(subjectOf(membership), at)
  return outcome
}

/**
 * `organization_membership.updated`: an active membership's new roles apply to its sessions (a
 * role added is written into them; a role removed ends them, so the person signs in again with
 * the roles they have); a membership no longer active (inactive, pending) ends them. Only when it
 * is newer than every event about this membership applied before (event-order.ts).
 */
export const membershipUpdated: EventHandler = async (c, data, { at }) => {
  const parsed = await parseMembership(c, data, at, true)
  if (!parsed) return null
  const { store, order, person, membership } = parsed
  const outcome =
    membership.status !== undefined && membership.status !== 'active'
      ? applied(await revokeSessionsOf(store, person, inOrganization(membership)))
      : await rewriteRoles(store, person, membership, at)
  await order.rememberApplied(subjectOf(membership), at)
  return outcome
}

async function rewriteRoles(
  store: SessionStore,
  person: string,
  membership: Membership,
  at: number,
): Promise<Applied> {
  // `roles` when the membership has several, else the single `role` (as the callback reads a
  // profile).
  const slugs =
    membership.roles?.map((role) => role.slug) ?? (membership.role ? [membership.role.slug] : [])
  const roles = [...new Set(slugs)]
  const sameRoles = (record: SessionRecord) =>
    [...(record.roles ?? [])].sort().join('\n') === [...roles].sort().join('\n')
  // A role taken away ends the session (final: an end marker every read checks); a rewrite could
  // be undone by a sliding refresh that read the session earlier and lands later. Roles only
  // added are rewritten: losing that rewrite to a late refresh only withholds the new role.
  let updated = 0
  let ended = 0
  for (const { handle, record } of await store.listForPerson(person)) {
    if (!inOrganization(membership)(record) || sameRoles(record)) continue
    if ((record.roles ?? []).some((role) => !roles.includes(role))) {
      await store.deleteByHandle(handle)
      ended += 1
    } else if (record.createdAt < at) {
      // A session signed in after the event carries what the IdP said then, which is newer:
      // a late grant is not written into it (a removal still ends it, erring on the safe side).
      await store.rewriteByHandle(handle, { ...record, roles })
      updated += 1
    }
  }
  return applied(ended, updated)
}
