import type { AppContext } from '../app-env'
import type { Next } from 'hono'
import { GatewayError } from '../errors'
import { log } from '../log'
import { sameSecret } from '../secret-compare'

/**
 * The admin API's middleware (src/admin/index.ts): `Authorization: Bearer <ADMIN_TOKEN>`,
 * compared in constant time. Without ADMIN_TOKEN the admin API does not exist (404), so an unset
 * token can never be matched by an empty one.
 */
export async function requireAdmin(c: AppContext, next: Next) {
  const token = c.get('config').adminToken
  if (!token) throw new GatewayError(404, 'not_found', 'Not found.')
  const given = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1] ?? ''
  if (!(await sameSecret(given, token))) {
    log({ event: 'admin_refused' })
    throw new GatewayError(401, 'unauthorized', 'A valid admin token is required.', {
      'WWW-Authenticate': 'Bearer',
    })
  }
  await next()
}
