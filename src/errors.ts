import type { AppContext } from './app-env'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { ConfigError } from './config'
import { log } from './log'
import { wantsHtml } from './negotiate'
import { ErrorPage } from './pages/error'

/**
 * An answer the gateway means to give: a status, a stable snake_case code and a message a person
 * can act on. Thrown anywhere, rendered once by `renderError` as JSON or HTML.
 */
export class GatewayError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'GatewayError'
  }

  /** Answered as JSON whatever the Accept header: for machines (service tokens), never a page. */
  jsonOnly = false
}

export const badRequest = (code: string, message: string) => new GatewayError(400, code, message)

export class WorkosUnavailableError extends GatewayError {
  constructor(retryAfterSeconds = 5) {
    super(
      503,
      'workos_unavailable',
      'Sign-in is temporarily unavailable. Please try again in a moment.',
      { 'Retry-After': String(retryAfterSeconds) },
    )
  }
}

export function errorResponse(c: AppContext, error: GatewayError): Response | Promise<Response> {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
  c.header('Cache-Control', 'no-store')
  if (!error.jsonOnly && wantsHtml(c)) {
    return c.html(ErrorPage({ status: error.status, message: error.message }), error.status)
  }
  return c.json({ error: error.code, message: error.message }, error.status)
}

/** The one place errors become responses; nothing internal reaches the client. */
export function renderError(error: Error, c: AppContext): Response | Promise<Response> {
  if (error instanceof GatewayError) return errorResponse(c, error)
  if (error instanceof HTTPException) {
    // Hono's own (body limit, malformed JSON from c.req.json()): keep the status, name the problem.
    const status = error.status as ContentfulStatusCode
    const [code, message] =
      status === 403
        ? // hono/csrf: a form posted from another site (login CSRF, forced logout).
          ['cross_site_request', 'This form was sent from another site. Go back and try again.']
        : status === 413
          ? ['body_too_large', 'The request body is too large.']
          : ['bad_request', 'The request could not be understood.']
    return errorResponse(c, new GatewayError(status, code, message))
  }
  if (error instanceof ConfigError) {
    log({ event: 'config_invalid', problems: error.problems })
    return errorResponse(
      c,
      new GatewayError(500, 'misconfigured', 'The gateway is not configured correctly.'),
    )
  }
  log({ event: 'internal_error', error: error.name })
  return errorResponse(c, new GatewayError(500, 'internal_error', 'Something went wrong.'))
}
