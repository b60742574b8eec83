import { Layout, Notice } from './layout'

export type LoginNotice = 'expired' | 'auth_failed' | 'signed_out' | undefined

const NOTICES: Record<Exclude<LoginNotice, undefined>, { kind: 'error' | 'info'; text: string }> = {
  expired: {
    kind: 'error',
    text: 'That sign-in link has expired or was already used. Enter your email for a new one.',
  },
  auth_failed: { kind: 'error', text: 'We could not sign you in. Please try again.' },
  signed_out: { kind: 'info', text: 'You are signed out.' },
}

export function LoginPage(props: {
  productName: string
  returnTo: string
  notice: LoginNotice
  email?: string
  error?: string
}) {
  const notice = props.notice ? NOTICES[props.notice] : undefined
  return (
    <Layout title={props.productName}>
      <h1>{props.productName}</h1>
      <p>Enter your email and we will send you a link to sign in.</p>
      {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/auth/magic-link">
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
        <button type="submit">Email me a sign-in link</button>
      </form>
    </Layout>
  )
}
