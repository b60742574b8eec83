import { Layout, Notice } from './layout'

export function CheckEmailPage(props: {
  productName: string
  devMailbox: boolean
  recentlySent?: boolean
}) {
  return (
    <Layout title={`Check your email · ${props.productName}`}>
      <h1>Check your email</h1>
      <p>
        If that address can sign in, a link is on its way. Open it on this device to continue. The
        link works once and expires in 15 minutes.
      </p>
      {props.recentlySent && (
        <Notice kind="info">
          We recently sent a link to this address. Use the newest one; you can ask for another in a
          minute.
        </Notice>
      )}
      {props.devMailbox && (
        <Notice kind="info">
          Running locally: the email is in the <a href="/__dev/mailbox">dev mailbox</a>.
        </Notice>
      )}
      <p class="muted">
        No email? Check your spam folder, or <a href="/auth/login">try again</a>.
      </p>
    </Layout>
  )
}
