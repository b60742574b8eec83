import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { OPERATOR } from '../audit/actors'
import { audit } from '../audit/record'
import { resetMfa } from './mfa-reset'
import { requireAdmin } from './require-admin'
import { adminRevoke } from './revoke'
import { createServiceToken, listServiceTokens, revokeServiceToken } from './service-tokens'

/**
 * The admin API, mounted at /auth/admin: every route behind ADMIN_TOKEN (requireAdmin), called by
 * operators' scripts with a bearer token, so the /auth/* CSRF check skips it (index.ts). Errors
 * reach the app's onError like every other route's.
 */
export const admin = new Hono<AppEnv>()

admin.use('*', requireAdmin, async function auditAdminCall(c, next) {
  await next()
  // Every call an operator made with ADMIN_TOKEN, whatever it answered (a refused token is only
  // logged: anyone on the internet can send one).
  audit(c, {
    action: 'gateway.admin_api.called',
    actor: OPERATOR,
    targets: [{ type: 'admin_api', id: `${c.req.method} ${c.req.routePath}` }],
    metadata: { method: c.req.method, endpoint: c.req.routePath, status: c.res.status },
  })
})
admin.post('/revoke', adminRevoke)
admin.post('/mfa/reset', resetMfa)
admin.post('/service-tokens', createServiceToken)
admin.get('/service-tokens', listServiceTokens)
admin.delete('/service-tokens/:id', revokeServiceToken)
