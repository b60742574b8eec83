import { html } from 'hono/html'
import type { OutgoingEmail } from './mailer'

export async function magicLinkEmail(options: {
  to: string
  productName: string
  link: string
}): Promise<OutgoingEmail> {
  const { to, productName, link } = options
  const body = await html`<!doctype html>
    <html>
      <body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1c1c22">
        <p>
          Use the link below to sign in to ${productName}. It works once and expires in 15 minutes.
        </p>
        <p><a href="${link}">Sign in to ${productName}</a></p>
        <p style="color: #6b6b76; font-size: 14px">
          If you did not ask to sign in, you can ignore this email.
        </p>
      </body>
    </html>`
  return {
    to,
    subject: `Your sign-in link for ${productName}`,
    text: [
      `Use this link to sign in to ${productName}:`,
      '',
      link,
      '',
      'It works once and expires in 15 minutes.',
      'If you did not ask to sign in, you can ignore this email.',
    ].join('\n'),
    html: body.toString(),
  }
}

export async function magicAuthEmail(options: {
  to: string
  productName: string
  code: string
}): Promise<OutgoingEmail> {
  const { to, productName, code } = options
  const body = await html`<!doctype html>
    <html>
      <body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1c1c22">
        <p>Your code to sign in to ${productName}:</p>
        <p style="font-size: 28px; font-weight: 700; letter-spacing: 4px">${code}</p>
        <p>It works once and expires in 10 minutes.</p>
        <p style="color: #6b6b76; font-size: 14px">
          If you did not ask to sign in, you can ignore this email.
        </p>
      </body>
    </html>`
  return {
    to,
    subject: `${code} is your sign-in code for ${productName}`,
    text: [
      `Your code to sign in to ${productName}: ${code}`,
      '',
      'It works once and expires in 10 minutes.',
      'If you did not ask to sign in, you can ignore this email.',
    ].join('\n'),
    html: body.toString(),
  }
}
