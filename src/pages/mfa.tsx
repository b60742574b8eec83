import { CodeInput } from './code-input'
import { Layout, Notice } from './layout'

const CodeForm = (props: { returnTo: string; label: string }) => (
  <form method="post" action="/auth/mfa/verify">
    <input type="hidden" name="returnTo" value={props.returnTo} />
    <label for="code">{props.label}</label>
    <CodeInput />
    <button type="submit">Verify</button>
  </form>
)

/** GET /auth/mfa for a person without a factor: scan the QR code (or type the secret), confirm. */
export function MfaEnrolPage(props: {
  productName: string
  email: string
  qrCode: string
  secret: string
  returnTo: string
  error?: string
}) {
  return (
    <Layout title={`Set up a second factor · ${props.productName}`}>
      <h1>Set up your authenticator app</h1>
      <p>
        This application asks <strong>{props.email}</strong> for a second factor. Scan the code with
        an authenticator app (1Password, Google Authenticator, Authy…), then type the 6 digits it
        shows.
      </p>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <img src={props.qrCode} alt="QR code for your authenticator app" width={200} height={200} />
      <p class="muted">
        Cannot scan it? Enter this key instead: <code id="secret">{props.secret}</code>
      </p>
      <CodeForm returnTo={props.returnTo} label="Code from the app" />
    </Layout>
  )
}

/**
 * GET /auth/mfa for a person with a factor: type the current code. Also the answer to a refused
 * code; while `enrolling` (the factor not yet confirmed) it offers a new QR code instead of the
 * administrator, for a person whose app did not take the first one.
 */
export function MfaCodePage(props: {
  productName: string
  email: string
  returnTo: string
  error?: string
  enrolling?: boolean
}) {
  return (
    <Layout title={`Second factor · ${props.productName}`}>
      <h1>Enter your authenticator code</h1>
      <p>
        Signed in as <strong>{props.email}</strong>. Open your authenticator app and type the 6
        digits it shows for {props.productName}.
      </p>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <CodeForm returnTo={props.returnTo} label="Authenticator code" />
      {props.enrolling ? (
        <p class="muted">
          Use the app where you just scanned the QR code. Did it not take it?{' '}
          <a href={`/auth/mfa?returnTo=${encodeURIComponent(props.returnTo)}`}>
            Show a new QR code
          </a>{' '}
          (the one you scanned stops working).
        </p>
      ) : (
        <p class="muted">Lost your phone? Ask your administrator to reset your second factor.</p>
      )}
    </Layout>
  )
}
