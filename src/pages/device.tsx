import { Layout, Notice } from './layout'

/**
 * GET /auth/device: where a signed-in person types the code a command line or device shows
 * (RFC 8628). Prefilled from the link the device printed, it still takes a click: a link alone
 * never connects anything.
 */
export function DeviceCodePage(props: {
  productName: string
  account: string
  /** As typed, or from the link; '' for an empty field. */
  userCode: string
  error?: string
}) {
  return (
    <Layout title={`Connect a device · ${props.productName}`}>
      <h1>Connect a device</h1>
      <p>
        Type the code your command line or device shows. You are signed in as{' '}
        <strong>{props.account}</strong>.
      </p>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/auth/device">
        <label for="user_code">Code</label>
        <input
          id="user_code"
          name="user_code"
          type="text"
          value={props.userCode}
          autocomplete="off"
          autocapitalize="characters"
          spellcheck={false}
          maxlength={16}
          required
          autofocus
          aria-describedby="user-code-help"
        />
        <p id="user-code-help" class="muted">
          Eight letters, like BCDF-GHJK (the dash is optional).
        </p>
        <button type="submit">Continue</button>
      </form>
      <p class="muted">
        Only type a code you started yourself, on a device or in a terminal in front of you. Never
        one that someone sent you.
      </p>
    </Layout>
  )
}

/** The end of the device flow: the device will be told (on its next poll) what the person saw. */
export function DeviceAnswerPage(props: {
  productName: string
  outcome: 'approved' | 'denied' | 'refused'
  application: string
  account: string
}) {
  const title = {
    approved: 'Device connected',
    denied: 'Device not connected',
    refused: 'Not allowed',
  }[props.outcome]
  return (
    <Layout title={`${title} · ${props.productName}`}>
      <h1>{title}</h1>
      {props.outcome === 'approved' && (
        <p>
          It can now use <strong>{props.application}</strong> as you, {props.account}. Go back to
          your device: it continues by itself. End its access at any time on your{' '}
          <a href="/auth/sessions">sessions page</a>.
        </p>
      )}
      {props.outcome === 'denied' && (
        <p>Nothing was shared. Your device will be told that you declined.</p>
      )}
      {props.outcome === 'refused' && (
        <p>
          <strong>{props.account}</strong> may not use <strong>{props.application}</strong>, so
          nothing was shared. Your device will be told so.
        </p>
      )}
    </Layout>
  )
}
