import type { Context } from 'hono'
import { currentSession } from '../session/current'

/** GET /auth/me — who is signed in, as JSON. */
export async function showMe(c: Context) {
  const session = await currentSession(c)
  // Always JSON, even for a browser: this is an API, not a page.
  if (session.state !== 'active')
    return c.json({ error: 'not_signed_in', message: 'Sign in to continue.' }, 401)
  const { record } = session
  return c.json({
    user: {
      id: record.userId,
      email: record.email,
      firstName: record.firstName,
      lastName: record.lastName,
    },
    session: {
      sid: record.sid,
      method: record.method,
      createdAt: new Date(record.createdAt).toISOString(),
      expiresAt: new Date(record.expiresAt).toISOString(),
    },
  })
}
