import type { Context } from 'hono'
import { isEmailAllowed } from '../abuse/allow-list'
import { enforceSendLimits } from '../abuse/rate-limit'
import { readFields } from '../body'
import type { SignInMethod } from '../config'
import { requireGatewayHost } from '../context'
import { normaliseEmail } from '../email'
import { GatewayError } from '../errors'
import { isFormPost } from '../negotiate'
import { LoginPage } from '../pages/login'
import { safeReturnTo } from '../redirect'

export interface SignInRequest {
  email: string
  returnTo: string
  /** The address's send limit is used up: send nothing, point the person at the newest email. */
  recentlySent: boolean
}

const NOT_ALLOWED = new GatewayError(
  403,
  'email_not_allowed',
  'This email address cannot sign in here. Use your work address, or ask your administrator for access.',
)

export function refuseUnlessAllowed(c: Context, email: string): void {
  if (!isEmailAllowed(c.get('config'), email)) throw NOT_ALLOWED
}

/**
 * The checks every "send me a link / a code" request passes before anything is sent: the method
 * is offered, the address is well-formed and allowed, and the send limits are not exceeded.
 */
export async function readSignInRequest(c: Context, method: SignInMethod): Promise<SignInRequest> {
  if (!c.get('config').signInMethods.includes(method)) {
    throw new GatewayError(
      404,
      'method_not_offered',
      `Sign-in with ${method === 'code' ? 'a code' : 'a link'} is not offered here.`,
    )
  }
  requireGatewayHost(c)
  const fields = await readFields(c)
  const returnTo = safeReturnTo(fields.returnTo)
  const email = normaliseEmail(fields.email)
  if (!email.ok) throw new GatewayError(400, 'invalid_email', email.problem)
  refuseUnlessAllowed(c, email.email)
  const limit = await enforceSendLimits(c, email.email)
  return { email: email.email, returnTo, recentlySent: limit === 'recently_sent' }
}

/**
 * Runs a sign-in step; when it fails for a browser form post, the person sees the sign-in form
 * again with the problem and what they typed, rather than a bare error page.
 */
export async function onLoginForm(c: Context, step: () => Promise<Response>): Promise<Response> {
  try {
    return await step()
  } catch (error) {
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
