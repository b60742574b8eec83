import type { AppContext } from '../app-env'
import { currentSession } from '../session/current'
import { authMethodOf } from '../session/record'

/** GET /auth/me — who is signed in, as JSON. */
export async function showMe(c: AppContext) {
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
      authMethod: authMethodOf(record),
      authTime: new Date(record.createdAt).toISOString(),
      createdAt: new Date(record.createdAt).toISOString(),
      expiresAt: new Date(record.expiresAt).toISOString(),
      mfa: record.mfaAt !== undefined,
      ...(record.organizationId !== undefined && {
        organizationId: record.organizationId,
        connectionId: record.connectionId ?? null,
        roles: record.roles ?? [],
        groups: record.groups ?? [],
      }),
    },
  })
}
