import type { AppContext } from '../app-env'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { sessionStore } from '../session/current'
import { revokeAllForPerson } from '../session/revoke'
import { personKeyOf } from '../session/store'
import { applied, type EventHandler } from './event'
import { eventOrder } from './event-order'

const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  first_name: z.optional(z.nullable(z.string())),
  last_name: z.optional(z.nullable(z.string())),
})

async function parseUser(c: AppContext, data: unknown) {
  const user = userSchema.safeParse(data)
  if (!user.success) return null
  const store = sessionStore(c)
  const { id, email } = user.data
  return {
    store,
    order: eventOrder(c.env.SESSIONS, c.get('config').sessionTtlSeconds),
    user: user.data,
    person: await personKeyOf(email),
    knownPerson: await store.personForUserId(id),
  }
}

/**
 * `user.deleted`: every session of that person ends (and of the address it had, if another).
 * Always applied, and the newest state: a `user.updated` from before it arriving later is ignored.
 */
export const userDeleted: EventHandler = async (c, data, { at }) => {
  const parsed = await parseUser(c, data)
  if (!parsed) return null
  const { store, order, user, person, knownPerson } = parsed
  let revoked = await revokeAllForPerson(store, person)
  if (knownPerson && knownPerson !== person) revoked += await revokeAllForPerson(store, knownPerson)
  await order.rememberApplied({ kind: 'user', userId: user.id }, at)
  return applied(revoked)
}

/**
 * `user.updated`: a new email ends the sessions (they were made for someone this user no longer
 * is); otherwise the sessions take the new names. Only when it is newer than every event about
 * this user applied before (event-order.ts): a late one naming the address the user had would
 * otherwise end the sessions of the address they have, and point the user's id back at the old.
 */
export const userUpdated: EventHandler = async (c, data, { at }) => {
  const parsed = await parseUser(c, data)
  if (!parsed) return null
  const subject = { kind: 'user', userId: parsed.user.id } as const
  if (await parsed.order.isOlderThanApplied(subject, at)) return null
  const outcome = await applyUserUpdate(c, parsed)
  await parsed.order.rememberApplied(subject, at)
  return outcome
}

type ParsedUser = NonNullable<Awaited<ReturnType<typeof parseUser>>>

async function applyUserUpdate(c: AppContext, parsed: ParsedUser) {
  const { store, user, person, knownPerson } = parsed
  if (knownPerson && knownPerson !== person) {
    const revoked = await revokeAllForPerson(store, knownPerson)
    // The id is this address now: a later event naming the user (a membership) must find the
    // person it is, not the one it was.
    const until = Date.now() + c.get('config').sessionTtlSeconds * 1000
    await store.rememberUserId(user.id, person, until)
    return applied(revoked)
  }
  let updated = 0
  for (const { handle, record } of await store.listForPerson(person)) {
    if (record.userId !== user.id) continue
    await store.rewriteByHandle(handle, {
      ...record,
      firstName: user.first_name ?? null,
      lastName: user.last_name ?? null,
    })
    updated += 1
  }
  return applied(0, updated)
}
