import { CodeInput } from './code-input'
import { Layout, Notice } from './layout'

/** GET /auth/code: where a person types the 6-digit code they were emailed. */
export function CodePage(props: {
  productName: string
  email: string
  returnTo: string
  error?: string
  notice?: string
}) {
  return (
    <Layout title={`Enter your code · ${props.productName}`}>
      <h1>Check your email for a code</h1>
      <p>
        If <strong>{props.email}</strong> can sign in here, we sent it a 6-digit code. It expires in
        10 minutes.
      </p>
      {props.notice && <Notice kind="info">{props.notice}</Notice>}
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/auth/magic-auth/verify">
        <label for="code">Sign-in code</label>
        <CodeInput describedBy="code-help" />
        <p id="code-help" class="muted">
          Six digits, from the email.
        </p>
        <button type="submit">Sign in</button>
      </form>
      <form method="post" action="/auth/magic-auth">
        <input type="hidden" name="email" value={props.email} />
        <input type="hidden" name="returnTo" value={props.returnTo} />
        <button type="submit" class="secondary">
          Send a new code
        </button>
      </form>
      <p class="muted">
        Not you?{' '}
        <a href={`/auth/login?returnTo=${encodeURIComponent(props.returnTo)}`}>Use another email</a>
      </p>
    </Layout>
  )
}
