import { Layout, Notice } from './layout'

/** GET /auth/magic/<token>: names the account and waits for a click; nothing is spent yet. */
export function ContinuePage(props: { productName: string; email: string; action: string }) {
  return (
    <Layout title={`Continue signing in · ${props.productName}`}>
      <h1>Continue signing in</h1>
      <p>
        Sign in to {props.productName} as <strong>{props.email}</strong>.
      </p>
      <form method="post" action={props.action}>
        <button type="submit" autofocus>
          Continue as {props.email}
        </button>
      </form>
      <p class="muted">
        If you did not ask to sign in, close this page. Nothing happens until you continue.
      </p>
    </Layout>
  )
}

/** The callback, reached from a browser other than the one that asked for the link. */
export function ConfirmPage(props: {
  productName: string
  email: string
  code: string
  state: string
}) {
  return (
    <Layout title={`Confirm sign-in · ${props.productName}`}>
      <h1>Confirm sign-in</h1>
      <Notice kind="info">
        This sign-in link was asked for in another browser or on another device.
      </Notice>
      <p>
        Continue only if you asked to sign in to {props.productName} as{' '}
        <strong>{props.email}</strong>. If you did not, close this page: someone may be trying to
        sign you in to their account.
      </p>
      <form method="post" action="/auth/callback">
        <input type="hidden" name="code" value={props.code} />
        <input type="hidden" name="state" value={props.state} />
        <button type="submit" autofocus>
          Sign in as {props.email}
        </button>
      </form>
      <p class="muted">
        <a href="/auth/login">Cancel</a>
      </p>
    </Layout>
  )
}

export function LinkUsedPage(props: { productName: string }) {
  return (
    <Layout title={`Link expired · ${props.productName}`}>
      <h1>This link has expired</h1>
      <p>Sign-in links work once and expire after 15 minutes.</p>
      <p>
        <a href="/auth/login">Get a new one</a>
      </p>
    </Layout>
  )
}
