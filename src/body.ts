import type { AppContext } from './app-env'
import { GatewayError } from './errors'

/**
 * The fields of a JSON object body or an urlencoded/multipart form, as unknowns to be validated
 * by the caller. Anything else is refused with a 4xx that names the problem.
 */
export async function readFields(c: AppContext): Promise<Record<string, unknown>> {
  const contentType = (c.req.header('content-type') ?? '').toLowerCase()
  if (contentType.startsWith('application/json')) {
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      throw new GatewayError(400, 'invalid_json', 'The request body is not valid JSON.')
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new GatewayError(400, 'invalid_body', 'The request body must be a JSON object.')
    return body as Record<string, unknown>
  }
  if (
    contentType.startsWith('application/x-www-form-urlencoded') ||
    contentType.startsWith('multipart/form-data')
  ) {
    try {
      return await c.req.parseBody()
    } catch {
      throw new GatewayError(400, 'invalid_form', 'The form data could not be read.')
    }
  }
  throw new GatewayError(
    415,
    'unsupported_media_type',
    'Send application/json or a form (application/x-www-form-urlencoded).',
  )
}
