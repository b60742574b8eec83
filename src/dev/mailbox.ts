import type { AppContext } from '../app-env'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { GatewayError } from '../errors'
import { MailboxPage } from '../pages/mailbox'
import { mailboxSchema, type MailboxMessage } from './mailbox-schema'

// The dev mailbox: what the emulator "sent", read from its /__mailbox route. Dev only: without
// DEV_MODE=true and an emulator URL these routes answer 404, as if they did not exist.

async function readMailbox(c: AppContext): Promise<MailboxMessage[]> {
  const config = c.get('config')
  const api = config.workosApi
  if (!config.devMode || !api) throw new GatewayError(404, 'not_found', 'Not found.')
  const base = `${api.https ? 'https' : 'http'}://${api.hostname}${api.port ? `:${api.port}` : ''}`
  const to = c.req.query('to')
  const query = to ? `?to=${encodeURIComponent(to)}` : ''
  let response: Response
  try {
    response = await fetch(`${base}/__mailbox${query}`)
  } catch {
    throw new GatewayError(
      404,
      'mailbox_unavailable',
      'The dev mailbox is off: the emulator is not running.',
    )
  }
  const parsed = mailboxSchema.safeParse(
    response.ok ? await response.json().catch(() => null) : null,
  )
  if (!parsed.success)
    throw new GatewayError(
      404,
      'mailbox_unavailable',
      'The dev mailbox is off: the emulator is not running.',
    )
  return parsed.data.messages
}

export async function mailboxJson(c: AppContext) {
  return c.json({ messages: await readMailbox(c) })
}

export async function mailboxPage(c: AppContext) {
  return c.html(MailboxPage({ messages: await readMailbox(c) }))
}
