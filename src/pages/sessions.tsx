import type { SessionView } from '../auth/sessions'
import { Layout } from './layout'

const when = (iso: string) => iso.replace('T', ' ').slice(0, 16) + ' UTC'

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
        Signed in as <strong>{props.email}</strong>. These browsers and devices are signed in.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Signed in</th>
            <th scope="col"></th>
          </tr>
        </thead>
        <tbody>
          {props.sessions.map((session) => (
            <tr>
              <td>
                {session.device}
                <br />
                <span class="muted">{session.ip}</span>
                {session.current && (
                  <>
                    <br />
                    <strong>This browser</strong>
                  </>
                )}
              </td>
              <td>
                {when(session.createdAt)}
                <br />
                <span class="muted">last seen {when(session.lastSeenAt)}</span>
              </td>
              <td>
                <form method="post" action={`/auth/sessions/${session.sid}/revoke`}>
                  <button type="submit" class="secondary" aria-label={`Sign out ${session.device}`}>
                    Sign out
                  </button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action="/auth/logout">
        <input type="hidden" name="everywhere" value="1" />
        <button type="submit">Sign out everywhere</button>
      </form>
    </Layout>
  )
}
