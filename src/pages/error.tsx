import { Layout } from './layout'

export function ErrorPage(props: { status: number; message: string; retryHref?: string }) {
  return (
    <Layout title="Something went wrong">
      <h1>{props.status >= 500 ? 'Something went wrong' : 'That did not work'}</h1>
      <p>{props.message}</p>
      {props.retryHref && (
        <p>
          <a href={props.retryHref}>Try again</a>
        </p>
      )}
      <p class="muted">
        <a href="/auth/login">Back to sign-in</a>
      </p>
    </Layout>
  )
}
