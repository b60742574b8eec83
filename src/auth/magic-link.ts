import type { Context } from 'hono'
import { publicOrigin } from '../context'
import { randomToken } from '../crypto'
import { ADDRESS_SEND_RETRY_SECONDS } from '../abuse/rate-limit'
import { inBackground } from '../background'
import { GatewayError, WorkosUnavailableError } from '../errors'
import { log } from '../log'
import { MailerError, sendEmail, type OutgoingEmail } from '../mail/mailer'
import { magicLinkEmail } from '../mail/templates'
import { isFormPost } from '../negotiate'
import { classifyWorkosError, loggedWorkosFailure, withDeadline, workosClient } from '../workos'
import { bindBrowser } from './browser-binding'
import { savePendingLink } from './magic-link-store'
import { onLoginForm, readSignInRequest } from './sign-in-request'
import { signState } from './state'

/** How long a Magic Link lives; WorkOS accepts 900–86400 s. */
export const MAGIC_LINK_TTL_SECONDS = 900

/**
 * POST /auth/magic-link — asks WorkOS for a Magic Link and has it emailed. The answer is the same
 * whether or not the address has signed in before.
 *
 * EMAIL_DELIVERY=workos: WorkOS emails its own link. EMAIL_DELIVERY=custom: the gateway emails
 * /auth/magic/<token> instead, a page whose Continue button spends the WorkOS link, so a mail
 * scanner that opens every URL spends nothing.
 */
export function requestMagicLink(c: Context) {
  return onLoginForm(c, async () => {
    const config = c.get('config')
    const { email, returnTo, recentlySent } = await readSignInRequest(c, 'link')
    if (recentlySent) {
      // The address's send limit is used up (by its owner, or by someone asking for links for
      // it). The links already sent did reach the inbox: the person can still use the newest.
      log({ event: 'magic_link_recently_sent' })
      if (isFormPost(c)) return c.redirect('/auth/check-email?recent=1', 303)
      c.header('Retry-After', String(ADDRESS_SEND_RETRY_SECONDS))
      return c.json({ error: 'link_recently_sent', message: RECENTLY_SENT }, 429)
    }
    await sendLink(c, email, returnTo)
    log({ event: 'magic_link_sent', delivery: config.emailDelivery })
    if (isFormPost(c)) return c.redirect('/auth/check-email', 303)
    return c.json({ success: true })
  })
}

const RECENTLY_SENT =
  'We recently sent a link to this address. Use the newest one; you can ask for another in a minute.'

/** Creates the link and has it mailed (or, with sign-up closed for this address, does nothing). */
async function sendLink(c: Context, email: string, returnTo: string): Promise<void> {
  const config = c.get('config')
  const state = await signState(config.sessionSecrets, {
    returnTo,
    email,
    browser: await bindBrowser(c),
  })
  const workos = workosClient(config)
  let session
  try {
    session = await withDeadline(
      config,
      workos.passwordless.createSession({
        type: 'MagicLink',
        email,
        redirectURI: `${publicOrigin(c)}/auth/callback`,
        state,
        expiresIn: MAGIC_LINK_TTL_SECONDS,
      }),
    )
    if (config.emailDelivery === 'workos') {
      const sent = await withDeadline(config, workos.passwordless.sendSession(session.id))
      // The SDK hands back null for an answer that is not JSON: that is not a sent email.
      if ((sent as { success?: unknown } | null)?.success !== true)
        throw new Error('WorkOS did not confirm sending the link')
    }
  } catch (error) {
    const failure = classifyWorkosError(error)
    // Answered as if a link were on its way: saying otherwise would tell who has an account.
    if (failure.kind === 'rejected' && failure.code === 'sign_up_not_allowed') {
      log({ event: 'magic_link_not_sent', outcome: 'sign_up_not_allowed' })
      return
    }
    throw workosFailureToError(error, 'magic_link_request_failed')
  }

  if (config.emailDelivery === 'custom') {
    const token = randomToken(32)
    await savePendingLink(c.env.SESSIONS, token, {
      link: session.link,
      email,
      expiresAt: Date.now() + MAGIC_LINK_TTL_SECONDS * 1000,
    })
    const gatewayLink = `${publicOrigin(c)}/auth/magic/${token}`
    // After answering: waiting for the mail provider would make this address slower to answer.
    deliverInBackground(
      c,
      magicLinkEmail({ to: email, productName: config.productName, link: gatewayLink }),
    )
  }
}

/**
 * Sends through the configured provider after the answer has gone (waitUntil), so the time to
 * answer is the same whatever the provider does; a failure is logged with the provider's status
 * only (never the address), and the person asks again.
 */
export function deliverInBackground(c: Context, message: Promise<OutgoingEmail>): void {
  const settings = c.get('config').email
  if (!settings) throw new Error('EMAIL_DELIVERY=custom without email settings')
  inBackground(
    c,
    message
      .then((email) => sendEmail(settings, email))
      .catch((error: unknown) =>
        log({
          event: 'email_send_failed',
          providerStatus: error instanceof MailerError ? error.status : undefined,
        }),
      ),
  )
}

/** Maps a failed WorkOS call to the answer a person gets, logging what went wrong (no input). */
export function workosFailureToError(error: unknown, event: string): GatewayError {
  const failure = loggedWorkosFailure(event, error)
  switch (failure.kind) {
    case 'rate_limited':
      return new GatewayError(
        429,
        'rate_limited',
        'Too many sign-in attempts. Please wait a moment and try again.',
        { 'Retry-After': String(failure.retryAfterSeconds) },
      )
    case 'rejected':
      if (failure.code === 'email_domain_not_deliverable')
        return new GatewayError(
          400,
          'email_not_deliverable',
          'Email cannot be delivered to that domain. Check the address and try again.',
        )
      return new GatewayError(
        400,
        'email_not_accepted',
        'We could not send a sign-in email to that address. Check it and try again.',
      )
    case 'invalid_grant':
    case 'unavailable':
    case 'misconfigured':
      return new WorkosUnavailableError()
  }
}
