import type { Hono } from 'hono'
import { z } from 'zod'
import { opaqueToken } from '../ids.ts'
import type { EmulatorState } from '../state.ts'

// A stand-in for Resend's send-email API (POST /emails, bearer key, JSON), so the gateway's real
// provider client is exercised end to end in dev and tests; every message lands in the mailbox.

const sendEmailSchema = z.object({
  from: z.string().min(1),
  to: z.union([z.string(), z.array(z.string()).min(1).max(50)]),
  subject: z.string().min(1),
  text: z.string().optional(),
  html: z.string().optional(),
})

const FIRST_URL = /https?:\/\/[^\s"'<>]+/
const SIX_DIGIT_CODE = /\b\d{6}\b/

export function emailRoutes(app: Hono, state: EmulatorState) {
  app.post('/emails', async (c) => {
    const key = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1]
    if (key !== state.options.emailApiKey) {
      return c.json(
        { statusCode: 401, name: 'validation_error', message: 'API key is invalid' },
        401,
      )
    }
    const parsed = sendEmailSchema.safeParse(await c.req.json().catch(() => null))
    if (!parsed.success) {
      const field = String(parsed.error.issues[0]?.path[0] ?? 'body')
      return c.json(
        { statusCode: 422, name: 'validation_error', message: `Invalid \`${field}\` field.` },
        422,
      )
    }
    const message = parsed.data
    const text = message.text ?? message.html ?? ''
    const link = FIRST_URL.exec(text)?.[0] ?? null
    for (const to of Array.isArray(message.to) ? message.to : [message.to]) {
      state.deliver({
        via: 'provider',
        to,
        subject: message.subject,
        link,
        // A link email has no code; digits inside its URL are not one.
        code: link ? null : (SIX_DIGIT_CODE.exec(`${message.subject}\n${text}`)?.[0] ?? null),
        text,
      })
    }
    return c.json({ id: opaqueToken(16) })
  })
}
