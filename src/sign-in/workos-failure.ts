import { GatewayError, WorkosUnavailableError } from '../errors'
import { log } from '../log'
import { classifyWorkosError, loggedWorkosFailure } from '../workos'

/** Maps a failed WorkOS call to the answer a person gets, logging what went wrong (no input). */
export function workosFailureToError(error: unknown, event: string): GatewayError {
  const failure = loggedWorkosFailure(event, error)
  switch (failure.kind) {
    case 'rate_limited':
      return new GatewayError(
        429,
        'rate_limited',
        'Too many sign-in attempts. Please wait a moment and try again.',
        { 'Retry-After': String(failure.retryAfterSeconds) },
      )
    case 'rejected':
      if (failure.code === 'email_domain_not_deliverable')
        return new GatewayError(
          400,
          'email_not_deliverable',
          'Email cannot be delivered to that domain. Check the address and try again.',
        )
      return new GatewayError(
        400,
        'email_not_accepted',
        'We could not send a sign-in email to that address. Check it and try again.',
      )
    case 'invalid_grant':
    case 'unavailable':
    case 'misconfigured':
      return new WorkosUnavailableError()
  }
}

/**
 * For a send (a code, a link) WorkOS refused: "no such user, and sign-up is closed" is answered as
 * if the email were on its way, since saying so would tell anyone which addresses have accounts
 * (logged as `notSent`, nothing thrown). Anything else throws the person's answer (logged as
 * `failed`).
 */
export function throwUnlessSignUpClosed(
  error: unknown,
  events: { notSent: string; failed: string },
): void {
  const failure = classifyWorkosError(error)
  if (failure.kind === 'rejected' && failure.code === 'sign_up_not_allowed') {
    log({ event: events.notSent, outcome: 'sign_up_not_allowed' })
    return
  }
  throw workosFailureToError(error, events.failed)
}
