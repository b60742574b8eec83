import type { AppContext } from '../app-env'
import { sha256 } from '../crypto'
import { GatewayError } from '../errors'
import { log } from '../log'
import { clientKey } from './client-key'

// Workers Rate Limiting bindings (wrangler.toml [[ratelimits]]). They count per Cloudflare
// location and are meant for abuse control, not exact quotas: that is what this is.

type LimitName = 'SEND_LIMIT_EMAIL' | 'SEND_LIMIT_IP' | 'VERIFY_LIMIT_IP' | 'REGISTER_LIMIT_IP'

// The binding's windows are 10 or 60 s; Retry-After is the longest a person may have to wait.
const RETRY_AFTER: Record<LimitName, number> = {
  SEND_LIMIT_EMAIL: 60,
  SEND_LIMIT_IP: 10,
  VERIFY_LIMIT_IP: 10,
  REGISTER_LIMIT_IP: 60,
}

/** One count against a limiter; false when over its limit. A limiter that fails refuses (503). */
export async function allowed(c: AppContext, name: LimitName, key: string): Promise<boolean> {
  try {
    const { success } = await (c.env[name] as RateLimit).limit({ key })
    return success
  } catch {
    // A limiter that cannot answer fails closed: no unlimited sending while it is down.
    log({ event: 'rate_limiter_failed', limiter: name })
    throw new GatewayError(
      503,
      'rate_limiter_unavailable',
      'Sign-in is busy. Please try again in a moment.',
      {
        'Retry-After': '10',
      },
    )
  }
}

function tooMany(seconds: number): GatewayError {
  return new GatewayError(
    429,
    'too_many_requests',
    `Too many sign-in emails were asked for. Please wait ${seconds === 60 ? 'a minute' : `${seconds} seconds`} and try again.`,
    { 'Retry-After': String(seconds) },
  )
}

/**
 * Before sending a link or a code: per client (IPv4 address or IPv6 /64), then per address (keyed
 * by its hash). Over the client limit: 429. Over the address limit: `'recently_sent'`, and the
 * caller sends nothing but still lets the person in with what already reached their inbox, so
 * someone asking for codes for another person's address cannot lock that person out.
 */
export async function enforceSendLimits(
  c: AppContext,
  email: string,
): Promise<'ok' | 'recently_sent'> {
  if (!(await allowed(c, 'SEND_LIMIT_IP', clientKey(c)))) {
    log({ event: 'rate_limited', limiter: 'SEND_LIMIT_IP' })
    throw tooMany(RETRY_AFTER.SEND_LIMIT_IP)
  }
  if (!(await allowed(c, 'SEND_LIMIT_EMAIL', `email:${await sha256(email.toLowerCase())}`))) {
    log({ event: 'rate_limited', limiter: 'SEND_LIMIT_EMAIL' })
    return 'recently_sent'
  }
  return 'ok'
}

/** Seconds until the per-address send limit lets another email through. */
export const ADDRESS_SEND_RETRY_SECONDS = RETRY_AFTER.SEND_LIMIT_EMAIL

/** Before checking a typed code: per client (IPv4 address or IPv6 /64), across addresses. */
export async function enforceVerifyLimit(c: AppContext): Promise<void> {
  if (!(await allowed(c, 'VERIFY_LIMIT_IP', clientKey(c)))) {
    log({ event: 'rate_limited', limiter: 'VERIFY_LIMIT_IP' })
    throw new GatewayError(
      429,
      'too_many_attempts',
      'Too many codes were tried. Please wait 10 seconds and try again.',
      { 'Retry-After': String(RETRY_AFTER.VERIFY_LIMIT_IP) },
    )
  }
}
