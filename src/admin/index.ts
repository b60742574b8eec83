import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
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

admin.use('*', requireAdmin)
admin.post('/revoke', adminRevoke)
admin.post('/mfa/reset', resetMfa)
admin.post('/service-tokens', createServiceToken)
admin.get('/service-tokens', listServiceTokens)
admin.delete('/service-tokens/:id', revokeServiceToken)
