import { Layout } from './layout'

/** An application as the launcher shows it. */
export interface AppView {
  title: string
  /** Absolute. */
  url: string
}

/** Where a link goes, as a person reads it: host and path, without the scheme. */
const shown = (url: string) => url.replace(/^https?:\/\//, '')

/** GET /auth/apps: the applications the person may open now. */
export function AppsPage(props: { productName: string; email: string; apps: AppView[] }) {
  return (
    <Layout title={`Your applications · ${props.productName}`}>
      <h1>Your applications</h1>
      <p>
        Signed in as <strong>{props.email}</strong>.{' '}
        {props.apps.length > 0
          ? 'You may open these now:'
          : 'There is no application you may open from here now.'}
      </p>
      {props.apps.length > 0 && (
        <ul class="sessions">
          {props.apps.map((app) => (
            <li>
              <div>
                <a href={app.url}>
                  <strong>{app.title}</strong>
                </a>
                <br />
                <span class="muted">{shown(app.url)}</span>
              </div>
            </li>
          ))}
        </ul>
      )}
      <p class="muted">
        <a href="/auth/sessions">Your sessions</a>
      </p>
    </Layout>
  )
}
