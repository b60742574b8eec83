import type { ReceivedAuditEvent } from '../dev/audit-schema'
import { Layout } from './layout'

const who = (entity: { type: string; id: string; name?: string | undefined }) =>
  `${entity.name ? `${entity.name} ` : ''}(${entity.type} ${entity.id})`

/** `key=value` pairs on one line, cut short: the JSON route has the whole event. */
function summary(metadata: Record<string, unknown> | undefined): string {
  const text = Object.entries(metadata ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' · ')
  return text.length > 160 ? `${text.slice(0, 159)}…` : text
}

export function AuditPage(props: { events: ReceivedAuditEvent[] }) {
  return (
    <Layout title="Dev audit log">
      <h1>Dev audit log</h1>
      <p class="muted">
        Audit events the local emulator received, newest first. Development only.{' '}
        <a href="/__dev/audit.json">JSON</a> · <a href="/__dev/mailbox">Dev mailbox</a>
      </p>
      {props.events.length === 0 ? (
        <p>No audit events yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Action</th>
              <th scope="col">Actor</th>
              <th scope="col">Targets</th>
              <th scope="col">Organization</th>
              <th scope="col">Metadata</th>
            </tr>
          </thead>
          <tbody>
            {props.events.map(({ event, organization_id }) => (
              <tr>
                <td>{event.occurred_at}</td>
                <td>
                  <code>{event.action}</code>
                </td>
                <td>{who(event.actor)}</td>
                <td>{event.targets.map(who).join(', ')}</td>
                <td>{organization_id}</td>
                <td class="muted">{summary(event.metadata)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  )
}
