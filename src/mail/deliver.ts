import type { AppContext } from '../app-env'
import { inBackground } from '../background'
import { log } from '../log'
import { MailerError, sendEmail, type OutgoingEmail } from './mailer'

/**
 * Sends through the configured provider after the answer has gone (waitUntil), so the time to
 * answer is the same whatever the provider does; a failure is logged with the provider's status
 * only (never the address), and the person asks again.
 */
export function deliverInBackground(c: AppContext, message: Promise<OutgoingEmail>): void {
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
