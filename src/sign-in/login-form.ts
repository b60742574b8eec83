import type { AppContext } from '../app-env'
import { isEmailAllowed } from '../abuse/allow-list'
import { enforceSendLimits } from '../abuse/rate-limit'
import { readFields } from '../body'
import { requireGatewayHost } from '../context'
import { normaliseEmail } from '../email'
import { GatewayError } from '../errors'
import { log } from '../log'
import { isFormPost } from '../negotiate'
import { ssoAuthorizeUrl } from '../sso/authorize'
import { ssoOrganizationFor } from '../sso/domain-lookup'
import { LoginPage, type LoginNotice } from '../pages/login'
import { safeReturnTo } from '../redirect'
import { SIGN_IN_METHODS, type SignInMethod } from './methods'

// What every method's login form step shares: reading the form (readSignInRequest), answering its
// failures on the form itself (onLoginForm), and the way back to it (loginUrl).

export interface SignInRequest {
  email: string
  returnTo: string
  /** The address's send limit is used up: send nothing, point the person at the newest email. */
  recentlySent: boolean
}

/** The address belongs to an organization with SSO: the person goes to its IdP instead. */
export class SsoRequired extends GatewayError {
  constructor(readonly redirect: string) {
    super(
      403,
      'sso_required',
      'Your organization signs you in with single sign-on. Continue to its sign-in page.',
    )
  }
}

const NOT_ALLOWED = new GatewayError(
  403,
  'email_not_allowed',
  'This email address cannot sign in here. Use your work address, or ask your administrator for access.',
)

export function refuseUnlessAllowed(c: AppContext, email: string): void {
  if (!isEmailAllowed(c.get('config'), email)) throw NOT_ALLOWED
}

/**
 * The checks every "send me a link / a code" request passes before anything is sent: the method
 * is offered, the address is well-formed and allowed, and the send limits are not exceeded.
 */
export async function readSignInRequest(
  c: AppContext,
  method: SignInMethod,
): Promise<SignInRequest> {
  if (!c.get('config').signInMethods.includes(method)) {
    throw new GatewayError(
      404,
      'method_not_offered',
      `${SIGN_IN_METHODS[method].title} is not offered here.`,
    )
  }
  requireGatewayHost(c)
  const fields = await readFields(c)
  const returnTo = safeReturnTo(fields.returnTo)
  const email = normaliseEmail(fields.email)
  if (!email.ok) throw new GatewayError(400, 'invalid_email', email.problem)
  refuseUnlessAllowed(c, email.email)
  // An address whose organization signs in with SSO goes to its IdP: no code or link is sent.
  if (c.get('config').signInMethods.includes('sso')) {
    const organizationId = await ssoOrganizationFor(c, email.email)
    if (organizationId)
      throw new SsoRequired(
        await ssoAuthorizeUrl(c, { organizationId, email: email.email, returnTo }),
      )
  }
  const limit = await enforceSendLimits(c, email.email)
  return { email: email.email, returnTo, recentlySent: limit === 'recently_sent' }
}

/**
 * Runs a sign-in step; when it fails for a browser form post, the person sees the sign-in form
 * again with the problem and what they typed, rather than a bare error page.
 */
export async function onLoginForm(c: AppContext, step: () => Promise<Response>): Promise<Response> {
  try {
    return await step()
  } catch (error) {
    if (error instanceof SsoRequired) {
      log({ event: 'sso_required' })
      if (isFormPost(c)) return c.redirect(error.redirect, 303)
      return c.json({ error: error.code, message: error.message, redirect: error.redirect }, 403)
    }
    if (!(error instanceof GatewayError) || !isFormPost(c)) throw error
    const fields = await readFields(c).catch(() => ({}) as Record<string, unknown>)
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
    const config = c.get('config')
    return c.html(
      LoginPage({
        productName: config.productName,
        methods: config.signInMethods,
        returnTo: safeReturnTo(fields.returnTo),
        notice: undefined,
        email: typeof fields.email === 'string' ? fields.email.slice(0, 254) : '',
        error: error.message,
      }),
      error.status,
    )
  }
}

/** Where a failed sign-in sends the person: the form again, with a notice and their returnTo. */
export function loginUrl(options: { error?: SignInFailure; returnTo?: string }) {
  const params = new URLSearchParams()
  if (options.error) params.set('error', options.error)
  if (options.returnTo && options.returnTo !== '/') params.set('returnTo', options.returnTo)
  const query = params.toString()
  return query ? `/auth/login?${query}` : '/auth/login'
}

/** The login page's notices a failed sign-in step sends the person back with. */
export type SignInFailure = Extract<
  LoginNotice,
  | 'expired'
  | 'auth_failed'
  | 'sso_failed'
  | 'sso_unavailable'
  | 'sso_other_browser'
  | 'sso_outside_domains'
  | 'handoff_failed'
>
