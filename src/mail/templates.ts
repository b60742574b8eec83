import { html } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import type { OutgoingEmail } from './mailer'

// Both emails share one shell and one closing line; each has a plain-text and an HTML body.
const IGNORE_LINE = 'If you did not ask to sign in, you can ignore this email.'

async function emailHtml(content: HtmlEscapedString | Promise<HtmlEscapedString>): Promise<string> {
  const body = await html`<!doctype html>
    <html>
      <body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1c1c22">
        ${content}
        <p style="color: #6b6b76; font-size: 14px">${IGNORE_LINE}</p>
      </body>
    </html>`
  return body.toString()
}

export async function magicLinkEmail(options: {
  to: string
  productName: string
  link: string
}): Promise<OutgoingEmail> {
  const { to, productName, link } = options
  return {
    to,
    subject: `Your sign-in link for ${productName}`,
    text: [
      `Use this link to sign in to ${productName}:`,
      '',
      link,
      '',
      'It works once and expires in 15 minutes.',
      IGNORE_LINE,
    ].join('\n'),
    html: await emailHtml(
      html`<p>
          Use the link below to sign in to ${productName}. It works once and expires in 15 minutes.
        </p>
        <p><a href="${link}">Sign in to ${productName}</a></p>`,
    ),
  }
}

export async function magicAuthEmail(options: {
  to: string
  productName: string
  code: string
}): Promise<OutgoingEmail> {
  const { to, productName, code } = options
  return {
    to,
    subject: `${code} is your sign-in code for ${productName}`,
    text: [
      `Your code to sign in to ${productName}: ${code}`,
      '',
      'It works once and expires in 10 minutes.',
      IGNORE_LINE,
    ].join('\n'),
    html: await emailHtml(
      html`<p>Your code to sign in to ${productName}:</p>
        <p style="font-size: 28px; font-weight: 700; letter-spacing: 4px">${code}</p>
        <p>It works once and expires in 10 minutes.</p>`,
    ),
  }
}
