import { Layout } from './layout'

/**
 * GET /auth/oauth/authorize: may this client act as the person in this application? The client's
 * name is its own claim (anyone can register any name), so it is marked as such, next to the
 * host the answer goes to, which the client cannot fake. The device grant (POST /auth/device)
 * asks the same, naming the code the person typed instead of a host.
 */
export function ConsentPage(props: {
  productName: string
  /** What the client calls itself; '' when it gave no name. */
  clientName: string
  clientId: string
  /** Where the answer goes: the redirect URI's host (and port), or for the device grant… */
  redirectHost?: string
  /** …the user code typed (the form then answers the device page instead). */
  userCode?: string
  application: string
  resource: string
  account: string
  /** The sealed request the form posts back (src/oauth/consent.ts). */
  consent: string
}) {
  const client = props.clientName || 'An application that gave no name'
  return (
    <Layout title={`Allow access? · ${props.productName}`}>
      <h1>Allow access to {props.application}?</h1>
      <p>
        <strong>{client}</strong> <span class="muted">(as it calls itself)</span> asks to use{' '}
        <strong>{props.application}</strong> as you, <strong>{props.account}</strong>.
      </p>
      <dl>
        <dt>{props.userCode === undefined ? 'Sends the answer to' : 'Code on your device'}</dt>
        <dd>
          <code>{props.userCode ?? props.redirectHost}</code>
        </dd>
        <dt>Application</dt>
        <dd>
          <code>{props.resource}</code>
        </dd>
        <dt>Client id</dt>
        <dd>
          <code>{props.clientId}</code>
        </dd>
      </dl>
      <p>
        If you allow it, it can do anything you can do in {props.application} until you end its
        access on your sessions page or sign out everywhere. Allow it only if you just started this
        from an application you trust.
      </p>
      <form
        method="post"
        action={props.userCode === undefined ? '/auth/oauth/authorize' : '/auth/device/consent'}
      >
        <input type="hidden" name="consent" value={props.consent} />
        <button type="submit" name="decision" value="approve">
          Allow
        </button>{' '}
        <button type="submit" name="decision" value="deny" class="secondary" autofocus>
          Deny
        </button>
      </form>
    </Layout>
  )
}
