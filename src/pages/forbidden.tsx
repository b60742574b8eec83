import { Layout } from './layout'

/**
 * 403: signed in, but this account may not use this application; or 404: no application here.
 * Names the account and the application, never the rule that refused.
 */
export function ForbiddenPage(
  props:
    | {
        productName: string
        account: string
        application: string
        returnTo: string
        notFound?: false
      }
    | { productName: string; notFound: true },
) {
  if (props.notFound) {
    return (
      <Layout title={`Not found · ${props.productName}`}>
        <h1>Nothing here</h1>
        <p>There is no application at this address.</p>
        <p>
          <a href="/auth/apps">See the applications you can open</a>
        </p>
      </Layout>
    )
  }
  return (
    <Layout title={`No access · ${props.productName}`}>
      <h1>You do not have access</h1>
      <p>
        You are signed in as <strong>{props.account}</strong>, which may not use{' '}
        <strong>{props.application}</strong>.
      </p>
      <p>If you have another account that should have access, sign in with it.</p>
      <form method="post" action="/auth/logout">
        <input type="hidden" name="returnTo" value={props.returnTo} />
        <button type="submit">Use another account</button>
      </form>
      <p class="muted">Otherwise, ask the people who run {props.application} for access.</p>
      <p>
        <a href="/auth/apps">See the applications you can open</a>
      </p>
    </Layout>
  )
}
