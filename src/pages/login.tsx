import {
  METHOD_IDS,
  SIGN_IN_METHODS,
  entryOf,
  formAction,
  type SignInMethod,
} from '../sign-in/methods'
import { MFA_ENROL_MAX_SIGN_IN_AGE_MINUTES } from '../mfa/enrol-policy'
import { Layout, Notice } from './layout'

export type LoginNotice =
  | 'expired'
  | 'auth_failed'
  | 'signed_out'
  | 'code_expired'
  | 'reauth'
  | 'reauth_mfa'
  | 'sso_failed'
  | 'sso_unavailable'
  | 'sso_other_browser'
  | 'sso_outside_domains'
  | 'handoff_failed'
  | undefined

const NOTICES: Record<Exclude<LoginNotice, undefined>, { kind: 'error' | 'info'; text: string }> = {
  expired: {
    kind: 'error',
    text: 'That sign-in link has expired or was already used. Enter your email for a new one.',
  },
  code_expired: {
    kind: 'error',
    text: 'Your sign-in took too long. Enter your email to get a new code.',
  },
  auth_failed: { kind: 'error', text: 'We could not sign you in. Please try again.' },
  signed_out: { kind: 'info', text: 'You are signed out.' },
  sso_failed: {
    kind: 'error',
    text: 'Single sign-on did not complete: your organization’s sign-in page refused or the sign-in expired. Try again, or ask your administrator.',
  },
  sso_unavailable: {
    kind: 'error',
    text: 'Single sign-on is not set up for that address or organization. Enter your email to get a code or a link instead.',
  },
  sso_outside_domains: {
    kind: 'error',
    text: 'Your organization’s sign-in page named an address outside your organization’s domains, so it was not accepted. Ask your administrator, or enter your email to get a code or a link instead.',
  },
  sso_other_browser: {
    kind: 'error',
    text: 'That single sign-on was finished in another browser than the one that started it, so it was not accepted. Start single sign-on again here.',
  },
  handoff_failed: {
    kind: 'error',
    text: 'That sign-in could not be carried over to the application (it was used already, it expired, or it was opened in another browser). Go back to the application and try again.',
  },
  reauth_mfa: {
    kind: 'info',
    text: `Setting up a second factor needs a recent sign-in (within the last ${MFA_ENROL_MAX_SIGN_IN_AGE_MINUTES} minutes). Sign in again to continue.`,
  },
  reauth: {
    kind: 'info',
    text: 'This application asks for a recent sign-in, and yours is older than it allows. Sign in again to continue.',
  },
}

/**
 * What the form says above the email field: what the offered methods email (in the registry's
 * order), and each offered method's own sentence.
 */
function introFor(methods: readonly SignInMethod[]): string {
  const offered = METHOD_IDS.filter((method) => methods.includes(method))
  const emailed = offered.flatMap((method) => entryOf(method).emails ?? [])
  const sentences = offered.flatMap((method) => entryOf(method).intro ?? [])
  return [
    `Enter your email and we will send you ${emailed.join(' or ')} to sign in.`,
    ...sentences,
  ].join(' ')
}

/**
 * One form, one email field, a button per offered method: each button posts to its own route
 * (formaction), so choosing needs no JavaScript.
 */
export function LoginPage(props: {
  productName: string
  methods: readonly SignInMethod[]
  returnTo: string
  notice: LoginNotice
  email?: string
  error?: string
}) {
  const notice = props.notice ? NOTICES[props.notice] : undefined
  const [primary, ...others] = props.methods
  const intro = introFor(props.methods)
  return (
    <Layout title={`Sign in · ${props.productName}`}>
      <h1>Sign in to {props.productName}</h1>
      <p>{intro}</p>
      {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action={formAction(primary ?? 'link')}>
        <input type="hidden" name="returnTo" value={props.returnTo} />
        <label for="email">Email address</label>
        <input
          id="email"
          name="email"
          type="email"
          autocomplete="email"
          required
          autofocus
          maxlength={254}
          value={props.email ?? ''}
        />
        {primary && <button type="submit">{SIGN_IN_METHODS[primary].button}</button>}
        {others.map((method) => (
          <button type="submit" class="secondary" formaction={formAction(method)}>
            {SIGN_IN_METHODS[method].button}
          </button>
        ))}
      </form>
    </Layout>
  )
}
