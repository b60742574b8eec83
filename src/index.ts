import type { AppContext, AppEnv } from './app-env'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { csrf } from 'hono/csrf'
import { secureHeaders } from 'hono/secure-headers'
import { backToLoginForm, showLogin } from './auth/login'
import { logout } from './auth/logout'
import { showMe } from './auth/me'
import { showApps } from './launcher/show'
import { listSessions, revokeSession } from './auth/sessions'
import { completeHandoff, startHandoff } from './auth/handoff'
import { confirmCallback, handleCallback } from './sign-in/callback'
import { FORM_ACTIONS_WITHOUT_GET } from './sign-in/methods'
import { mountSignInMethods } from './sign-in/modules'
import { enrolMfa, showMfa, verifyMfa } from './auth/mfa'
import { forwardAuth } from './auth/verify'
import { admin } from './admin'
import { serveJwks } from './assertion/sign'
import { OAUTH_API_PATHS, oauthApiCors, oauthMetadataCors } from './oauth/cors'
import {
  authorizationServerMetadata,
  noSuchMetadata,
  protectedResourceMetadata,
} from './oauth/metadata'
import { registerOAuthClient } from './oauth/register'
import { decideAuthorization, showAuthorization } from './oauth/authorize'
import { deviceAuthorization } from './oauth/device'
import { decideDevice, enterUserCode, showDeviceForm } from './oauth/device-verification'
import { revoke } from './oauth/revoke'
import { token } from './oauth/token'
import { workosWebhook } from './webhooks/workos'
import { configFor, workosOrigin, type Config } from './config'
import { isGatewayOrigin, requestUrl } from './context'
import { auditJson, auditPage } from './dev/audit'
import { mailboxJson, mailboxPage } from './dev/mailbox'
import { GatewayError, renderError } from './errors'
import { withRequestLog } from './log'
import { gateAndForward } from './gate'
import { appHostGatewayPaths } from './handoff/host-roles'
import { pagesOnly } from './auth/pages-only'
import { stylesheet } from './pages/stylesheet'
import { runScheduled } from './scheduled'
import { consumeAuditQueue } from './audit/deliver'

// The request path, top to bottom: request id → config → (gateway pages: security headers, CSRF,
// body limit) → route; everything else → session gate → origin.
/** The gateway's routes; the Worker below adds the scheduled jobs. */
export const app = new Hono<AppEnv>()

// Always the gateway's own id: a client-chosen one would reach the origin as if we had made it.
// Every request gets one structured log line (src/log.ts) carrying it, written as LOG_REQUESTS
// says (shouldWrite).
app.use(async function requestLog(c, next) {
  const id = crypto.randomUUID()
  c.set('requestId', id)
  await withRequestLog(
    { requestId: id, method: c.req.method },
    async () => {
      await next()
      // Stamped on the answer once it exists (an origin's own X-Request-ID is kept): set before,
      // it would cost every proxied request a Headers object that its answer never uses.
      stampRequestId(c, id)
    },
    (_, line) => {
      line.route = c.req.routePath
      line.status = c.res.status
      line.outcome ??= c.res.status < 400 ? 'ok' : `status_${c.res.status}`
      return shouldWrite(c.get('config') as Config | undefined, line.route as string, line)
    },
  )
})

function stampRequestId(c: AppContext, id: string) {
  if (c.res.headers.has('x-request-id')) return
  try {
    c.res.headers.set('X-Request-ID', id)
  } catch {
    // An answer whose headers cannot change: one copy that can.
    c.res = new Response(c.res.body, c.res)
    c.res.headers.set('X-Request-ID', id)
  }
}

// What LOG_REQUESTS=auth leaves out while they succeed: endpoints that monitors, browsers, OAuth
// clients and origins poll, and forward-auth's answer for each request a proxy passes on (like a
// proxied one).
const POLLED_ROUTES = new Set([
  '/healthz',
  '/auth/assets/gateway.css',
  '/.well-known/jwks.json',
  '/.well-known/oauth-authorization-server',
  '/.well-known/oauth-protected-resource/*',
  '/auth/verify',
])

/**
 * Whether a request's line is written. A request whose config could not be read always is. With
 * `auth`, a success the origin answered is left out: its line would repeat what Workers'
 * metrics already count (requests, status, CPU), and it is most of the traffic.
 */
function shouldWrite(config: Config | undefined, route: string, line: Record<string, unknown>) {
  if (!config || config.logRequests === 'all' || (line.status as number) >= 400) return true
  if (config.logRequests === 'errors') return false
  return line.originStatus === undefined && !POLLED_ROUTES.has(route)
}

app.use(async function loadConfig(c, next) {
  c.set('config', configFor(c.env))
  await next()
})

// Called with fetch from any origin's page (browser-based MCP clients), before the pages'
// middleware so that every answer, a refusal included, is readable there (src/oauth/cors.ts).
for (const path of OAUTH_API_PATHS) app.use(path, oauthApiCors)
app.use('/.well-known/oauth-*', oauthMetadataCors)

const gatewayPages = ['/auth/*', '/__dev/*', '/healthz']
for (const path of gatewayPages) {
  app.use(
    path,
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        // A sign-in form's answer may be a 303 to WorkOS and on to an organization's identity
        // provider (SSO), and browsers apply form-action to the redirects after a form post. Any
        // IdP may be on any https origin; in dev, WorkOS is the local emulator.
        formAction: [
          "'self'",
          'https:',
          // …and, with SIGN_IN_HOST, a sign-in ends in a redirect to the app host it serves.
          (c) => {
            const config = c.get('config') as Config | undefined
            if (!config) return "'self'"
            const url = requestUrl(c)
            const port = url.port ? `:${url.port}` : ''
            const hosts = config.signInHost
              ? [...config.handoffHosts].map((host) => `${url.protocol}//${host}${port}`)
              : []
            return [workosOrigin(config), ...hosts].join(' ')
          },
        ],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      referrerPolicy: 'no-referrer',
      crossOriginResourcePolicy: 'same-origin',
      // A page may set its own CSP (the Continue page allows WorkOS as a form target).
      overwrite: false,
    }),
    async function noStore(c, next) {
      await next()
      if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store')
    },
  )
}
// The admin API is called with a bearer token, which a browser never attaches by itself: CSRF
// cannot apply there, and a bare DELETE would otherwise be taken for a cross-site form. The
// handoff is the one cross-host form, and checks that its Origin is the sign-in host's itself.
const sameOriginForms = csrf({ origin: (origin, c) => isGatewayOrigin(c, origin) })
app.use(
  '/auth/*',
  async function csrfUnlessAdminApi(c, next) {
    if (c.req.path.startsWith('/auth/admin/') || c.req.path === '/auth/handoff') return next()
    // The OAuth API endpoints read no cookie: a client proves itself with what it posts (a code
    // and its verifier, a refresh or device code, the token to revoke), so a post from another
    // site acts as nobody, and browser-based clients post from their own origin.
    if (OAUTH_API_PATHS.includes(c.req.path)) return next()
    return sameOriginForms(c, next)
  },
  bodyLimit({
    maxSize: 16 * 1024,
    onError: () => {
      throw new GatewayError(
        413,
        'body_too_large',
        'The request body is too large (16 KB at most).',
      )
    },
  }),
)

// With SIGN_IN_HOST, an app host keeps only the gateway paths a person needs there.
app.use('/auth/*', appHostGatewayPaths)
// Secrets and every-session actions: never for a page's script (src/auth/pages-only.ts).
for (const path of [
  '/auth/mfa',
  '/auth/mfa/*',
  '/auth/sessions',
  '/auth/sessions/*',
  // Consent: a client may act as the person (src/oauth/authorize.ts, device-verification.ts).
  '/auth/oauth/authorize',
  '/auth/device',
  '/auth/device/*',
])
  app.use(path, pagesOnly)

app.get('/healthz', (c) => c.json({ ok: true }))
app.get('/auth/assets/gateway.css', (c) => {
  c.header('Cache-Control', 'public, max-age=3600')
  return c.body(stylesheet(c.get('config').accentColor), 200, {
    'Content-Type': 'text/css; charset=utf-8',
  })
})
app.get('/auth/login', showLogin)
// Each sign-in method's routes: its entry in src/sign-in/methods.ts names them, its module
// (src/sign-in/<method>.ts) handles them.
mountSignInMethods(app)
// Where WorkOS sends a person back, for the methods that leave through it (link, sso).
app.get('/auth/callback', handleCallback)
app.post('/auth/callback', confirmCallback)
app.get('/auth/handoff/start', startHandoff)
app.post('/auth/handoff', completeHandoff)
app.get('/auth/mfa', showMfa)
app.post('/auth/mfa/enroll', enrolMfa)
app.post('/auth/mfa/verify', verifyMfa)
app.post('/auth/logout', logout)
app.get('/auth/me', showMe)
app.get('/auth/apps', showApps)
app.get('/auth/verify', forwardAuth)
app.get('/auth/sessions', listSessions)
app.post('/auth/sessions/:sid/revoke', revokeSession)
app.route('/auth/admin', admin)
app.post('/auth/webhooks/workos', workosWebhook)
app.post('/auth/oauth/register', registerOAuthClient)
app.get('/auth/oauth/authorize', showAuthorization)
app.post('/auth/oauth/authorize', decideAuthorization)
app.post('/auth/oauth/token', token)
app.post('/auth/oauth/device_authorization', deviceAuthorization)
app.get('/auth/device', showDeviceForm)
app.post('/auth/device', enterUserCode)
app.post('/auth/device/consent', decideDevice)
app.post('/auth/oauth/revoke', revoke)
app.get('/.well-known/jwks.json', serveJwks)
// OAuth discovery (src/oauth/metadata.ts); nothing under /.well-known/oauth- reaches an origin.
app.get('/.well-known/oauth-authorization-server', authorizationServerMetadata)
app.get('/.well-known/oauth-protected-resource/*', protectedResourceMetadata)
app.all('/.well-known/oauth-*', noSuchMetadata)
app.get('/__dev/mailbox', mailboxPage)
app.get('/__dev/mailbox.json', mailboxJson)
app.get('/__dev/audit', auditPage)
app.get('/__dev/audit.json', auditJson)
// A GET to a login button's action (a bookmark, a reload) lands on the form instead of a 404.
app.on('GET', FORM_ACTIONS_WITHOUT_GET, backToLoginForm)
app.all('/auth/*', () => {
  throw new GatewayError(404, 'not_found', 'There is no such sign-in page.')
})
app.all('/__dev/*', () => {
  throw new GatewayError(404, 'not_found', 'Not found.')
})
app.all('*', gateAndForward)

app.onError(renderError)

export default {
  fetch: app.fetch,
  scheduled: runScheduled,
  queue: consumeAuditQueue,
} satisfies ExportedHandler<Env>

// The revocation authority, bound as REVOCATIONS (wrangler.toml).
export { RevocationAuthority } from './revocation/authority'
