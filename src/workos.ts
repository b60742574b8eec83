import {
  BadRequestException,
  GenericServerException,
  NotFoundException,
  OauthException,
  RateLimitExceededException,
  UnauthorizedException,
  UnprocessableEntityException,
  WorkOS,
} from '@workos-inc/node'
import type { Config } from './config'
import { withinMs } from './deadline'
import { log } from './log'

// No SDK retries. The SDK sleeps out a 429's Retry-After (up to 60 s) before retrying, which would
// turn WorkOS's "slow down" into our timeout, and a retried send could mail a person twice. A
// failure is answered at once (503 or 429 with Retry-After) and the person tries again.
const MAX_RETRIES = 0
// The worker build of the SDK ignores its `timeout` option, so the gateway bounds every call
// itself (WORKOS_TIMEOUT_MS, default 8 s: a slow answer, well inside what a person waits for
// before pressing the button again).

const clients = new WeakMap<Config, WorkOS>()

export function workosClient(config: Config): WorkOS {
  let client = clients.get(config)
  if (!client) {
    client = new WorkOS(config.workosApiKey, {
      clientId: config.workosClientId,
      maxRetries: MAX_RETRIES,
      ...(config.workosApi && {
        apiHostname: config.workosApi.hostname,
        https: config.workosApi.https,
        ...(config.workosApi.port !== undefined && { port: config.workosApi.port }),
      }),
    })
    clients.set(config, client)
  }
  return client
}

export class WorkosDeadlineError extends Error {
  override name = 'WorkosDeadlineError'
}

/**
 * Resolves with the call, or rejects once WORKOS_TIMEOUT_MS passes (default 8 s; the call itself
 * is abandoned).
 */
export function withDeadline<T>(config: Config, call: Promise<T>): Promise<T> {
  return withinMs(call, config.workosTimeoutMs, () => new WorkosDeadlineError())
}

/** What went wrong with a WorkOS call, in the terms the gateway answers with. */
export type WorkosFailure =
  | { kind: 'invalid_grant' }
  | { kind: 'rejected'; code: string | undefined; status: number }
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  | { kind: 'unavailable' }
  | { kind: 'misconfigured' }

export function classifyWorkosError(error: unknown): WorkosFailure {
  if (error instanceof OauthException) {
    if (error.error === 'invalid_grant') return { kind: 'invalid_grant' }
    if (error.error === 'invalid_client' || error.error === 'unauthorized_client')
      return { kind: 'misconfigured' }
    if (error.status >= 500 || error.status === 408) return { kind: 'unavailable' }
    return { kind: 'rejected', code: error.error, status: error.status }
  }
  if (error instanceof UnauthorizedException) return { kind: 'misconfigured' }
  if (error instanceof RateLimitExceededException) {
    const retryAfter = error.retryAfter ?? 30
    return { kind: 'rate_limited', retryAfterSeconds: Math.min(Math.max(1, retryAfter), 3600) }
  }
  // A 400 with `code` and `errors` (an audit event WorkOS finds invalid): the request itself.
  if (error instanceof BadRequestException)
    return { kind: 'rejected', code: error.code, status: error.status }
  if (error instanceof UnprocessableEntityException || error instanceof NotFoundException)
    return { kind: 'rejected', code: error.code, status: error.status }
  if (error instanceof GenericServerException) {
    if (error.status >= 500) return { kind: 'unavailable' }
    return { kind: 'rejected', code: error.code, status: error.status }
  }
  // Deadline, network failure, a non-JSON body: WorkOS could not be reached properly.
  return { kind: 'unavailable' }
}

/** Classifies a failed WorkOS call and logs it as `event` (the error's name and status only). */
export function loggedWorkosFailure(event: string, error: unknown): WorkosFailure {
  const failure = classifyWorkosError(error)
  log({ event, outcome: `workos_${failure.kind}`, ...describeWorkosError(error) })
  return failure
}

/** The WorkOS error's name and status, for logs: never its message (it may echo input). */
export function describeWorkosError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status
    const requestId = (error as { requestID?: unknown }).requestID
    return {
      workosError: error.name,
      ...(typeof status === 'number' && { workosStatus: status }),
      ...(typeof requestId === 'string' && requestId && { workosRequestId: requestId }),
    }
  }
  return { workosError: 'unknown' }
}
