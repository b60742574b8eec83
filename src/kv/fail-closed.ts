import { withinMs } from '../deadline'
import { GatewayError } from '../errors'
import { log } from '../log'

// A KV read normally takes milliseconds; past this, answer rather than hang the request.
const KV_DEADLINE_MS = 3000

/**
 * KV that throws or hangs grants nothing: the request is refused with 503 and Retry-After, and
 * the cookie is left alone (the session may be fine once KV answers again).
 */
export async function kvOrFailClosed<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await withinMs(read(), KV_DEADLINE_MS)
  } catch (error) {
    // Already an answer (the revocation authority's 503): passed on as it is.
    if (error instanceof GatewayError) throw error
    log({ event: 'session_store_failed', outcome: 'session_store_unavailable' })
    throw new GatewayError(
      503,
      'session_store_unavailable',
      'We cannot check your sign-in right now. Please try again in a moment.',
      { 'Retry-After': '5' },
    )
  }
}
