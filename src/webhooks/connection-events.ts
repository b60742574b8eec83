// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { sessionStore } from '../session/current'
import { revokeConnection } from '../session/revoke'
import { applied, type EventHandler } from './event'

// WorkOS ids are a prefix and a ULID; the id becomes part of KV key names, so nothing else is let
// through.
const connectionSchema = z.object({ id: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,128}$/)) })

/**
 * `connection.deactivated` and `connection.deleted`: every session signed in through that
 * connection ends, wherever it was made, including ones KV's listing does not show yet
 * (SessionStore.endConnection). A connection activated again signs people in afresh.
 */
export const connectionEnded: EventHandler = async (c, data) => {
  const connection = connectionSchema.safeParse(data)
  if (!connection.success) return null
  return applied(await revokeConnection(sessionStore(c), connection.data.id))
}
