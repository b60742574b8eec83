import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

// The two error shapes WorkOS answers with (as the official SDK parses them): `{message, code?}` for most routes
// and OAuth's `{error, error_description}` for token exchanges.

export function apiError(
  c: Context,
  status: ContentfulStatusCode,
  body: { message: string; code?: string; [key: string]: unknown },
) {
  return c.json(body, status)
}

export function oauthError(
  c: Context,
  error: string,
  description: string,
  status: ContentfulStatusCode = 400,
) {
  return c.json({ error, error_description: description }, status)
}
