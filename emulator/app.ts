import { Hono } from 'hono'
import { injectFaults, FaultSwitch } from './faults.ts'
import { controlRoutes } from './routes/control.ts'
import { emailRoutes } from './routes/email.ts'
import { magicAuthRoutes } from './routes/magic-auth.ts'
import { passwordlessRoutes } from './routes/passwordless.ts'
import { ssoRoutes } from './routes/sso.ts'
import { userRoutes } from './routes/users.ts'
import { EmulatorState, type EmulatorOptions } from './state.ts'
import { opaqueToken } from './ids.ts'

// Routes that authenticate with the API key as a bearer token. /sso/token and
// /user_management/authenticate check the key as client_secret in their body instead,
// /sso/profile takes an access token, and the link is public.
const BEARER_ROUTES = [
  /^\/passwordless\/sessions(\/|$)/,
  /^\/user_management\/(magic_auth|users)(\/|$)/,
]

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
      const route = `${c.req.method} ${c.req.path.replace(/\/(passwordless_session|magic_auth|user)_[0-9A-Z]+/g, '/:id').replace(/\/passwordless\/[^/]+\/confirm/, '/passwordless/:token/confirm')}`
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
  passwordlessRoutes(app, state)
  ssoRoutes(app, state)
  magicAuthRoutes(app, state)
  userRoutes(app, state)
  emailRoutes(app, state)

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
