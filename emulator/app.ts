import { Hono } from 'hono'
import { injectFaults, FaultSwitch } from './faults.ts'
import { auditLogRoutes } from './routes/audit-logs.ts'
import { controlRoutes } from './routes/control.ts'
import { controlOrganizationRoutes } from './routes/control-organizations.ts'
import { emailRoutes } from './routes/email.ts'
import { eventRoutes } from './routes/events.ts'
import { magicAuthRoutes } from './routes/magic-auth.ts'
import { mfaRoutes } from './routes/mfa.ts'
import { organizationRoutes } from './routes/organizations.ts'
import { passwordlessRoutes } from './routes/passwordless.ts'
import { ssoRoutes } from './routes/sso.ts'
import { ssoIdpRoutes } from './routes/sso-idp.ts'
import { userRoutes } from './routes/users.ts'
import { EmulatorState, type EmulatorOptions } from './state.ts'
import { opaqueToken } from './ids.ts'

// Routes that authenticate with the API key as a bearer token. /sso/token and
// /user_management/authenticate check the key as client_secret in their body instead,
// /sso/profile takes an access token, and the link, the authorize URLs and the IdP page are
// public (a browser opens them).
const BEARER_ROUTES = [
  /^\/passwordless\/sessions(\/|$)/,
  /^\/user_management\/(magic_auth|users|organization_memberships)(\/|$)/,
  /^\/(organizations|connections)(\/|$)/,
  /^\/auth\/(factors|challenges)(\/|$)/,
  /^\/events(\/|$)/,
  /^\/audit_logs(\/|$)/,
]

// Ids and one-time path segments folded into :id in /__stats, so routes count together.
const PATH_IDS =
  /\/(passwordless_session|magic_auth|user|org|conn|om|auth_factor|auth_challenge)_[0-9A-Z]+/g

export function createEmulatorApp(options: EmulatorOptions) {
  const state = new EmulatorState(options)
  const faults = new FaultSwitch()
  const app = new Hono()

  // Every answer carries X-Request-ID, as WorkOS's do; the SDK copies it into its exceptions.
  app.use(async function requestId(c, next) {
    c.header('X-Request-ID', `req_${opaqueToken(12)}`)
    await next()
  })
  // Counts the WorkOS calls made (everything but the /__ switches), for the bench.
  const stats = { requests: 0, byRoute: {} as Record<string, number> }
  app.use(async function countCalls(c, next) {
    if (!c.req.path.startsWith('/__')) {
      stats.requests++
      const route = `${c.req.method} ${c.req.path
        .replace(PATH_IDS, '/:id')
        .replace(/\/passwordless\/[^/]+\/confirm/, '/passwordless/:token/confirm')
        .replace(/^\/sso\/idp\/[^/]+$/, '/sso/idp/:id')}`
      stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1
    }
    await next()
  })
  app.get('/__stats', (c) => c.json(stats))
  app.use(injectFaults(faults))
  app.use(async function apiKey(c, next) {
    if (!BEARER_ROUTES.some((route) => route.test(c.req.path))) return next()
    if (c.req.header('authorization') !== `Bearer ${options.apiKey}`) {
      return c.json({ message: 'Unauthorized', code: 'unauthorized' }, 401)
    }
    return next()
  })

  controlRoutes(app, state, faults)
  controlOrganizationRoutes(app, state)
  passwordlessRoutes(app, state)
  ssoRoutes(app, state)
  ssoIdpRoutes(app, state)
  organizationRoutes(app, state)
  mfaRoutes(app, state)
  magicAuthRoutes(app, state)
  userRoutes(app, state)
  emailRoutes(app, state)
  eventRoutes(app, state)
  auditLogRoutes(app, state)

  app.notFound((c) =>
    c.json(
      { message: `The requested path '${c.req.path}' could not be found.`, code: 'not_found' },
      404,
    ),
  )
  app.onError((error, c) => {
    console.error('emulator error', error)
    return c.json({ message: 'Internal emulator error.' }, 500)
  })
  return { app, state, faults }
}
