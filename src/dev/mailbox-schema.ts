// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'

/** What the emulator's /__mailbox answers: the messages it "sent". */
export const mailboxSchema = z.object({
  messages: z.array(
    z.object({
      to: z.string(),
      subject: z.string(),
      link: z.nullable(z.string()),
      code: z.nullable(z.string()),
      sentAt: z.string(),
    }),
  ),
})

export type MailboxMessage = z.infer<typeof mailboxSchema>['messages'][number]
