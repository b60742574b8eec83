import type { AppContext } from '../app-env'
import { ADDRESS_SEND_RETRY_SECONDS } from '../abuse/rate-limit'
import { publicOrigin } from '../context'
import { randomToken } from '../crypto'
import { log } from '../log'
import { deliverInBackground } from '../mail/deliver'
import { magicLinkEmail } from '../mail/templates'
import { isFormPost } from '../negotiate'
import { CheckEmailPage } from '../pages/check-email'
import { ContinuePage, LinkUsedPage } from '../pages/continue'
import { withDeadline, workosClient } from '../workos'
import { bindBrowser } from './browser-binding'
import { onLoginForm, readSignInRequest } from './login-form'
import type { MethodModule } from './method-module'
import { peekPendingLink, savePendingLink, takePendingLink } from './pending-link'
import { signState } from './state'
import { throwUnlessSignUpClosed } from './workos-failure'

// The `link` method (Magic Link): WorkOS makes a link that ends on /auth/callback, emailed by
// WorkOS or, with EMAIL_DELIVERY=custom, by the gateway behind its own Continue page.

/** How long a Magic Link lives; WorkOS accepts 900–86400 s. */
const MAGIC_LINK_TTL_SECONDS = 900

/**
 * POST /auth/magic-link — asks WorkOS for a Magic Link and has it emailed. The answer is the same
 * whether or not the address has signed in before.
 *
 * EMAIL_DELIVERY=workos: WorkOS emails its own link. EMAIL_DELIVERY=custom: the gateway emails
 * /auth/magic/<token> instead, a page whose Continue button spends the WorkOS link, so a mail
 * scanner that opens every URL spends nothing.
 */
function requestMagicLink(c: AppContext) {
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
async function sendLink(c: AppContext, email: string, returnTo: string): Promise<void> {
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
    throwUnlessSignUpClosed(error, {
      notSent: 'magic_link_not_sent',
      failed: 'magic_link_request_failed',
    })
    return
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

/** GET /auth/check-email — shown after a form post asked for a link. */
function showCheckEmail(c: AppContext) {
  const config = c.get('config')
  return c.html(
    CheckEmailPage({
      productName: config.productName,
      devMailbox: config.devMode && config.workosApi !== undefined,
      recentlySent: c.req.query('recent') === '1',
    }),
  )
}

const pagePath = (c: AppContext) => `/auth/magic/${c.req.param('token')}`

/**
 * GET /auth/magic/<token> — the link in a custom-delivered email. Safe to fetch any number of
 * times: it only names the account and offers a Continue button.
 */
async function showContinue(c: AppContext) {
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
async function continueToWorkos(c: AppContext) {
  const pending = await takePendingLink(c.env.SESSIONS, c.req.param('token') ?? '')
  if (!pending) {
    log({ event: 'magic_continue_refused', outcome: 'link_expired' })
    return c.redirect('/auth/login?error=expired', 303)
  }
  log({ event: 'magic_continue' })
  return c.redirect(pending.link, 303)
}

export const magicLink: MethodModule<'link'> = {
  routes: {
    form: requestMagicLink,
    sentPage: showCheckEmail,
    continuePage: showContinue,
    continue: continueToWorkos,
  },
  callback: {
    failed: 'auth_failed',
    // WorkOS sends an expired or already-used link back with error=access_denied.
    expired: 'expired',
    refusedOutcome: 'link_expired',
    // A person may open the link on another device: they confirm there (src/sign-in/callback.ts).
    otherBrowser: 'confirm',
    // A link proves the address it was sent to.
    proves: (_profile, state, email) => email === state.email.toLowerCase(),
    accept: async () => ({}),
  },
}
