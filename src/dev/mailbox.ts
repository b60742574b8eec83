import type { AppContext } from '../app-env'
import { MailboxPage } from '../pages/mailbox'
import { readEmulator } from './emulator'
import { mailboxSchema, type MailboxMessage } from './mailbox-schema'

// The dev mailbox: what the emulator "sent", read from its /__mailbox route (dev only).

async function readMailbox(c: AppContext): Promise<MailboxMessage[]> {
  const to = c.req.query('to')
  const query = to ? `?to=${encodeURIComponent(to)}` : ''
  return (await readEmulator(c, `/__mailbox${query}`, mailboxSchema, 'mailbox')).messages
}

export async function mailboxJson(c: AppContext) {
  return c.json({ messages: await readMailbox(c) })
}

export async function mailboxPage(c: AppContext) {
  return c.html(MailboxPage({ messages: await readMailbox(c) }))
}
