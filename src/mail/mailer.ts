import type { Config } from '../config'

export interface OutgoingEmail {
  to: string
  subject: string
  text: string
  html: string
}

export class MailerError extends Error {
  constructor(readonly status: number | undefined) {
    super(`email provider failed${status ? ` with ${status}` : ''}`)
    this.name = 'MailerError'
  }
}

/**
 * Sends through Resend's HTTP API (https://resend.com/docs/api-reference/emails/send-email):
 * one `fetch` with a bearer key, so it runs in Workers with no SMTP socket or SDK. In dev the
 * emulator serves the same route and puts the message in the dev mailbox.
 */
export async function sendEmail(
  settings: NonNullable<Config['email']>,
  message: OutgoingEmail,
): Promise<void> {
  let response: Response
  try {
    response = await fetch(`${settings.apiUrl}/emails`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${settings.apiKey}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({
        from: settings.from,
        to: [message.to],
        subject: message.subject,
        text: message.text,
        html: message.html,
      }),
      signal: AbortSignal.timeout(8000),
    })
  } catch {
    throw new MailerError(undefined)
  }
  // Drain the body either way so the connection is released.
  await response.body?.cancel()
  if (!response.ok) throw new MailerError(response.status)
}
