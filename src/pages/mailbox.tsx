import type { MailboxMessage } from '../dev/mailbox-schema'
import { Layout } from './layout'

export function MailboxPage(props: { messages: MailboxMessage[] }) {
  return (
    <Layout title="Dev mailbox">
      <h1>Dev mailbox</h1>
      <p class="muted">
        Emails the local emulator "sent", newest first. Development only.{' '}
        <a href="/__dev/audit">Dev audit log</a>
      </p>
      {props.messages.length === 0 ? (
        <p>No emails yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">To</th>
              <th scope="col">Subject</th>
              <th scope="col">Sign in</th>
            </tr>
          </thead>
          <tbody>
            {props.messages.map((message) => (
              <tr>
                <td>{message.to}</td>
                <td>
                  {message.subject}
                  <br />
                  <span class="muted">{message.sentAt}</span>
                </td>
                <td>
                  {message.link && <a href={message.link}>Open link</a>}
                  {message.code && <code>{message.code}</code>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  )
}
