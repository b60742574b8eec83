import type { AppContext } from '../app-env'
import { readFields } from '../body'
import { requireGatewayHost } from '../context'
import { normaliseEmail } from '../email'
import { GatewayError } from '../errors'
import { log } from '../log'
import { isFormPost } from '../negotiate'
import { safeReturnTo } from '../redirect'
import { ssoAuthorizeUrl } from '../sso/authorize'
import { ssoOrganizationFor } from '../sso/domain-lookup'
import { organizationVouchesFor } from '../sso/organization-domains'
import { loginUrl, onLoginForm, refuseUnlessAllowed } from './login-form'
import type { MethodModule, WorkosProfile } from './method-module'
import { SIGN_IN_METHODS } from './methods'

// The `sso` method: the organization's identity provider, through WorkOS's SSO API, back to
// /auth/callback. An address whose domain has SSO is sent here from the code and link forms too
// (src/sign-in/login-form.ts).

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
async function authorizeUrlFor(c: AppContext, fields: Record<string, unknown>, returnTo: string) {
  if (!c.get('config').signInMethods.includes('sso'))
    throw new GatewayError(
      404,
      'method_not_offered',
      `${SIGN_IN_METHODS.sso.title} is not offered here.`,
    )
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
async function startSso(c: AppContext) {
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
function requestSso(c: AppContext) {
  return onLoginForm(c, async () => {
    const fields = await readFields(c)
    const url = await authorizeUrlFor(c, fields, safeReturnTo(fields.returnTo))
    if (!url) throw NOT_AVAILABLE
    log({ event: 'sso_started' })
    if (isFormPost(c)) return c.redirect(url, 303)
    return c.json({ redirect: url })
  })
}

// A session record carries the IdP's groups; past this many, the rest are dropped (and logged)
// rather than growing every session read.
const MAX_GROUPS = 100

/** Role slugs from a profile: `roles` when the IdP sends several, else the single `role`. */
function rolesOf(profile: WorkosProfile): string[] {
  const slugs = profile.roles?.map((role) => role.slug) ?? (profile.role ? [profile.role.slug] : [])
  return [...new Set(slugs.filter((slug) => typeof slug === 'string'))]
}

export const sso: MethodModule<'sso'> = {
  routes: { form: requestSso, start: startSso },
  callback: {
    failed: 'sso_failed',
    refusedOutcome: 'sso_refused',
    // The redirect from the IdP through WorkOS never crosses browsers, so its URL seen anywhere
    // else (an origin's service worker, a log, a screen) is someone else's code: refused, the
    // code unspent, and no page that would sign in on a click.
    otherBrowser: { outcome: 'sso_other_browser', notice: 'sso_other_browser' },
    // SSO proves membership of the organization the person was sent to (the IdP may know them by
    // another address than the one typed).
    proves: (profile, state) =>
      profile.organizationId !== undefined && profile.organizationId === state.organizationId,
    accept: async (c, profile, email) => {
      // A tenant's IdP may assert any address; only one at its organization's verified domains is
      // taken, so it cannot sign in as (or into the sessions, rules and revocations of) someone
      // else.
      if (!(await organizationVouchesFor(c, profile.organizationId!, email)))
        return { outcome: 'sso_email_outside_organization_domains', notice: 'sso_outside_domains' }
      return {
        sso: {
          organizationId: profile.organizationId!,
          connectionId: profile.connectionId,
          roles: rolesOf(profile),
          groups: (profile.groups ?? []).map(String).slice(0, MAX_GROUPS),
        },
      }
    },
  },
}
