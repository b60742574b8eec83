import type { Context } from 'hono'
import { readFields } from '../body'
import { publicOrigin } from '../context'
import { normaliseEmail } from '../email'
import { GatewayError, WorkosUnavailableError } from '../errors'
import { log } from '../log'
import { sendEmail, MailerError } from '../mail/mailer'
import { magicLinkEmail } from '../mail/templates'
import { isFormPost } from '../negotiate'
import { LoginPage } from '../pages/login'
import { safeReturnTo } from '../redirect'
import { classifyWorkosError, describeWorkosError, withDeadline, workosClient } from '../workos'
import { signState } from './state'

/** How long a Magic Link lives; WorkOS accepts 900–86400 s. */
export const MAGIC_LINK_TTL_SECONDS = 900

/**
 * POST /auth/magic-link — asks WorkOS for a Magic Link and has it emailed. The answer is the same
 * whether or not the address has signed in before.
 */
export async function requestMagicLink(c: Context) {
  const config = c.get('config')
  const fields = await readFields(c)
  const returnTo = safeReturnTo(fields.returnTo)
  const email = normaliseEmail(fields.email)
  if (!email.ok) {
    if (isFormPost(c)) {
      const page = LoginPage({
        productName: config.productName,
        returnTo,
        notice: undefined,
        email: typeof fields.email === 'string' ? fields.email.slice(0, 254) : '',
        error: email.problem,
      })
      return c.html(page, 400)
    }
    throw new GatewayError(400, 'invalid_email', email.problem)
  }

  const workos = workosClient(config)
  let link: string
  try {
    const session = await withDeadline(
      workos.passwordless.createSession({
        type: 'MagicLink',
        email: email.email,
        redirectURI: `${publicOrigin(c)}/auth/callback`,
        state: await signState(config.sessionSecrets, returnTo),
        expiresIn: MAGIC_LINK_TTL_SECONDS,
      }),
    )
    link = session.link
    if (config.emailDelivery === 'workos') {
      await withDeadline(workos.passwordless.sendSession(session.id))
    }
  } catch (error) {
    throw workosFailureToError(error, 'magic_link_request_failed')
  }

  if (config.emailDelivery === 'custom' && config.email) {
    try {
      await sendEmail(
        config.email,
        await magicLinkEmail({ to: email.email, productName: config.productName, link }),
      )
    } catch (error) {
      log({
        event: 'email_send_failed',
        providerStatus: error instanceof MailerError ? error.status : undefined,
      })
      throw new GatewayError(
        503,
        'email_unavailable',
        'We could not send the email just now. Please try again in a minute.',
        { 'Retry-After': '30' },
      )
    }
  }

  log({ event: 'magic_link_sent', delivery: config.emailDelivery })
  if (isFormPost(c)) return c.redirect('/auth/check-email', 303)
  return c.json({ success: true })
}

/** Maps a failed WorkOS call to the answer a person gets, logging what went wrong (no input). */
export function workosFailureToError(error: unknown, event: string): GatewayError {
  const failure = classifyWorkosError(error)
  log({ event, outcome: failure.kind, ...describeWorkosError(error) })
  switch (failure.kind) {
    case 'rate_limited':
      return new GatewayError(
        429,
        'rate_limited',
        'Too many sign-in attempts. Please wait a moment and try again.',
        { 'Retry-After': String(failure.retryAfterSeconds) },
      )
    case 'rejected':
      return new GatewayError(
        400,
        'email_not_accepted',
        'We could not send a sign-in link to that address. Check it and try again.',
      )
    case 'invalid_grant':
    case 'unavailable':
    case 'misconfigured':
      return new WorkosUnavailableError()
  }
}
