import type { AppContext } from '../app-env'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { seal, unseal } from '../crypto'
import { parseStored } from '../kv/stored-json'
import type { AuthorizationRequest } from './authorization-request'

// The consent page posts the authorization request back sealed (AES-GCM under SESSION_SECRET,
// src/crypto.ts): the person approves exactly what the page showed, and nothing in the form can
// be altered or forged. The seal names the browser session it was shown to (its handle) and
// lives ten minutes, so a consent form lifted from one browser is worthless in another.

const PURPOSE = 'oauth-consent'
/** How long a consent page can be answered. */
export const CONSENT_SECONDS = 10 * 60
const MAX_SEALED_LENGTH = 8192

const sealedConsent = z.object({
  clientId: z.string(),
  redirectUri: z.string(),
  state: z.optional(z.string()),
  codeChallenge: z.string(),
  resource: z.string(),
  scope: z.optional(z.string()),
  /** The handle of the browser session the page was shown to. */
  session: z.string(),
  /** Epoch ms. */
  issuedAt: z.number(),
})

/** The request, sealed for the consent form of the session with this handle. */
export function sealConsent(
  c: AppContext,
  request: AuthorizationRequest,
  sessionHandle: string,
): Promise<string> {
  const payload: z.infer<typeof sealedConsent> = {
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    resource: request.resource,
    ...(request.state !== undefined && { state: request.state }),
    ...(request.scope !== undefined && { scope: request.scope }),
    session: sessionHandle,
    issuedAt: Date.now(),
  }
  return sealForSession(c, PURPOSE, payload)
}

/**
 * The request a consent form carries, if it was sealed here, for the session with this handle,
 * within CONSENT_SECONDS; null otherwise.
 */
export async function openConsent(
  c: AppContext,
  sealed: unknown,
  sessionHandle: string,
): Promise<AuthorizationRequest | null> {
  const consent = await openForSession(c, PURPOSE, sealedConsent, sealed, sessionHandle)
  if (!consent) return null
  return {
    clientId: consent.clientId,
    redirectUri: consent.redirectUri,
    state: consent.state,
    codeChallenge: consent.codeChallenge,
    resource: consent.resource,
    scope: consent.scope,
  }
}

/**
 * A consent form's payload, sealed (the device page's too, src/oauth/device-verification.ts).
 * `purpose` keeps one form's seal from opening as another's.
 */
export function sealForSession<T extends { session: string; issuedAt: number }>(
  c: AppContext,
  purpose: string,
  payload: T,
): Promise<string> {
  return seal(c.get('config').sessionSecrets[0]!, purpose, JSON.stringify(payload))
}

/**
 * What a form sealed here for `purpose` carries, when it was sealed for the session with this
 * handle, within CONSENT_SECONDS; null otherwise.
 */
export async function openForSession<T extends { session: string; issuedAt: number }>(
  c: AppContext,
  purpose: string,
  schema: z.ZodMiniType<T>,
  sealed: unknown,
  sessionHandle: string,
): Promise<T | null> {
  if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_LENGTH) return null
  const payload = parseStored(schema, await unseal(c.get('config').sessionSecrets, purpose, sealed))
  if (!payload || payload.session !== sessionHandle) return null
  const age = Date.now() - payload.issuedAt
  return age > CONSENT_SECONDS * 1000 || age < -60_000 ? null : payload
}
