import { Layout } from './layout'

/** One of the person's sessions as the sessions page shows it. */
export interface SessionView {
  sid: string
  current: boolean
  createdAt: string
  lastSeenAt: string
  ip: string
  userAgent: string
  device: string
  /** The host a handed-over session belongs to; null for a session made by signing in. */
  host: string | null
  /** An OAuth grant: the client (its own name for itself) and the resource its tokens open. */
  client: { id: string; name: string; resource: string } | null
}

const when = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`

/** GET /auth/sessions: where a person sees and ends their sessions. */
export function SessionsPage(props: {
  productName: string
  email: string
  sessions: SessionView[]
}) {
  return (
    <Layout title={`Your sessions · ${props.productName}`}>
      <h1>Your sessions</h1>
      <p>
        Signed in as <strong>{props.email}</strong> in these browsers and devices.
      </p>
      <p>
        <a href="/auth/apps">Your applications</a>
      </p>
      <ul class="sessions">
        {props.sessions.map((session) => (
          <li>
            <div>
              <strong>{session.device}</strong>
              {session.current && <span class="badge">This browser</span>}
              {session.host && <span class="badge">{session.host}</span>}
              {session.client && <span class="badge">app access: {session.client.resource}</span>}
              <br />
              <span class="muted">
                {session.ip} · signed in {when(session.createdAt)} · last seen{' '}
                {when(session.lastSeenAt)}
              </span>
            </div>
            <form method="post" action={`/auth/sessions/${session.sid}/revoke`}>
              <button
                type="submit"
                class="small secondary"
                aria-label={`Sign out ${session.device}${session.current ? ' (this browser)' : ''}`}
              >
                Sign out
              </button>
            </form>
          </li>
        ))}
      </ul>
      <form method="post" action="/auth/logout">
        <input type="hidden" name="everywhere" value="1" />
        <button type="submit">Sign out everywhere</button>
      </form>
    </Layout>
  )
}
