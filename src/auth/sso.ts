import type { Context } from 'hono'
import { readFields } from '../body'
import { requireGatewayHost } from '../context'
import { normaliseEmail } from '../email'
import { GatewayError } from '../errors'
import { log } from '../log'
import { isFormPost } from '../negotiate'
import { safeReturnTo } from '../redirect'
import { ssoAuthorizeUrl } from '../sso/authorize'
import { ssoOrganizationFor } from '../sso/domain-lookup'
import { loginUrl } from './login'
import { onLoginForm, refuseUnlessAllowed } from './sign-in-request'

const ORGANIZATION_ID = /^org_[A-Za-z0-9]{1,64}$/

const NOT_AVAILABLE = new GatewayError(
  400,
  'sso_not_available',
  'Single sign-on is not set up for that address. Ask for a code or a link instead.',
)

/**
 * Where to send this person for SSO, from an email (its domain's organization) or an
 * organization id; null when the domain has none. An unknown organization id is WorkOS's to
 * refuse: it sends the person back with organization_invalid, and the callback says so.
 */
async function authorizeUrlFor(c: Context, fields: Record<string, unknown>, returnTo: string) {
  if (!c.get('config').signInMethods.includes('sso'))
    throw new GatewayError(404, 'method_not_offered', 'Single sign-on is not offered here.')
  requireGatewayHost(c)
  if (typeof fields.organization === 'string' && fields.organization !== '') {
    if (!ORGANIZATION_ID.test(fields.organization))
      throw new GatewayError(400, 'invalid_organization', 'That is not an organization id.')
    return ssoAuthorizeUrl(c, { organizationId: fields.organization, email: '', returnTo })
  }
  const email = normaliseEmail(fields.email)
  if (!email.ok) throw new GatewayError(400, 'invalid_email', email.problem)
  refuseUnlessAllowed(c, email.email)
  const organizationId = await ssoOrganizationFor(c, email.email)
  if (!organizationId) return null
  return ssoAuthorizeUrl(c, { organizationId, email: email.email, returnTo })
}

/**
 * GET /auth/sso?email=…&returnTo=… or ?organization=org_…&returnTo=… — starts SSO directly (a
 * bookmark, an intranet link). A domain without SSO goes back to the sign-in page, saying so.
 */
export async function startSso(c: Context) {
  const returnTo = safeReturnTo(c.req.query('returnTo'))
  const url = await authorizeUrlFor(c, c.req.query(), returnTo)
  if (!url) {
    log({ event: 'sso_not_available' })
    return c.redirect(loginUrl({ error: 'sso_unavailable', returnTo }), 302)
  }
  log({ event: 'sso_started' })
  return c.redirect(url, 302)
}

/** POST /auth/sso — `{"email"|"organization", "returnTo"}` → `200 {"redirect"}`; a form → 303. */
export function requestSso(c: Context) {
  return onLoginForm(c, async () => {
    const fields = await readFields(c)
    const url = await authorizeUrlFor(c, fields, safeReturnTo(fields.returnTo))
    if (!url) throw NOT_AVAILABLE
    log({ event: 'sso_started' })
    if (isFormPost(c)) return c.redirect(url, 303)
    return c.json({ redirect: url })
  })
}
