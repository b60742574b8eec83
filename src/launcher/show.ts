import type { AppContext } from '../app-env'
import { clientIp, requestUrl } from '../context'
import { personPrincipal } from '../gate/principal'
import { wantsHtml } from '../negotiate'
import { bearerTokenOf } from '../oauth/bearer'
import { AppsPage } from '../pages/apps'
import { CLIENT_ID_HEADER, CLIENT_SECRET_HEADER } from '../service-tokens/verify'
import { currentSession } from '../session/current'
import { appsFor } from './apps'

// The launcher is a person's page: it reads the browser's session and nothing else. A service
// token is no person, and a gateway access token opens one resource for one client, not a list of
// applications to browse, so a request presenting either is refused here, never decided on the
// cookie beside it (the gate, too, judges such a request by its token alone).

const notSignedIn = (c: AppContext, message: string) =>
  c.json({ error: 'not_signed_in', message }, 401)

/** GET /auth/apps — the applications the signed-in person may open now, as a page or JSON. */
export async function showApps(c: AppContext) {
  c.header('Cache-Control', 'no-store')
  if (
    c.req.header(CLIENT_ID_HEADER) !== undefined ||
    c.req.header(CLIENT_SECRET_HEADER) !== undefined ||
    bearerTokenOf(c) !== undefined
  )
    return notSignedIn(c, 'The app launcher is for a person signed in, not for a token.')
  const config = c.get('config')
  const { policy } = config
  // A strict route asks the revocation authority on every request: so does its listing.
  const strictRevocation = policy.routes.some((route) => route.launcher && route.strictRevocation)
  const session = await currentSession(c, { strictRevocation })
  if (session.state !== 'active') {
    if (wantsHtml(c)) return c.redirect('/auth/login?returnTo=%2Fauth%2Fapps', 302)
    return notSignedIn(c, 'Sign in to continue.')
  }
  const url = requestUrl(c)
  const apps = appsFor(
    policy,
    personPrincipal(session.record),
    {
      protocol: url.protocol,
      host: url.hostname,
      port: url.port ? `:${url.port}` : '',
      signInHost: config.signInHost,
      appHosts: config.handoffHosts,
    },
    {
      ip: clientIp(c),
      country: (c.req.raw.cf as { country?: string } | undefined)?.country,
      now: Date.now(),
    },
    config.productName,
  )
  if (wantsHtml(c))
    return c.html(
      AppsPage({
        productName: config.productName,
        email: session.record.email,
        apps: apps.map(({ title, url }) => ({ title, url })),
      }),
    )
  const named = policy.source === 'ACCESS'
  return c.json({
    apps: apps.map(({ route, title, url }) => ({ route: named ? route.name : null, title, url })),
  })
}
