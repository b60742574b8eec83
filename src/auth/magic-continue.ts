import type { Context } from 'hono'
import { log } from '../log'
import { ContinuePage, LinkUsedPage } from '../pages/continue'
import { peekPendingLink, takePendingLink } from './magic-link-store'

const pagePath = (c: Context) => `/auth/magic/${c.req.param('token')}`

/**
 * GET /auth/magic/<token> — the link in a custom-delivered email. Safe to fetch any number of
 * times: it only names the account and offers a Continue button.
 */
export async function showContinue(c: Context) {
  const config = c.get('config')
  // The token is in this page's URL: keep it out of any Referer the page could send.
  c.header('Referrer-Policy', 'no-referrer')
  const pending = await peekPendingLink(c.env.SESSIONS, c.req.param('token') ?? '')
  if (!pending) return c.html(LinkUsedPage({ productName: config.productName }), 410)
  // The Continue form's 303 goes to WorkOS: allow that one origin as a form target.
  c.header(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' ${new URL(pending.link).origin}; frame-ancestors 'none'; base-uri 'none'`,
  )
  return c.html(
    ContinuePage({ productName: config.productName, email: pending.email, action: pagePath(c) }),
  )
}

/** POST /auth/magic/<token> — the person's click: spends the token and goes on to WorkOS. */
export async function continueToWorkos(c: Context) {
  const pending = await takePendingLink(c.env.SESSIONS, c.req.param('token') ?? '')
  if (!pending) {
    log({ event: 'magic_continue_refused', outcome: 'link_expired' })
    return c.redirect('/auth/login?error=expired', 303)
  }
  log({ event: 'magic_continue' })
  return c.redirect(pending.link, 303)
}
