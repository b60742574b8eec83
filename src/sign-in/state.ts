import { seal, unseal } from '../crypto'
import { safeReturnTo } from '../redirect'
import { isCallbackFlow, type CallbackFlow } from './methods'

// The `state` WorkOS echoes back on the callback. It travels through the email and the address
// bar, so it is sealed (AES-GCM): nobody can read the address in it, or forge or alter the
// returnTo it carries.
const PURPOSE = 'workos-state'
// A link lives 15 minutes and the code it yields 10 more; allow that and a little clock skew.
export const STATE_MAX_AGE_SECONDS = 30 * 60
const MAX_STATE_LENGTH = 4096

export interface SignInState {
  returnTo: string
  /** The address the link was sent to; for SSO, the address typed (empty when started by org). */
  email: string
  /** SHA-256 of the sign-in nonce cookie of the browser that asked for the link. */
  browser: string
  /**
   * Which method the code on the callback belongs to: its id (src/sign-in/methods.ts). Absent in
   * states made before SSO: `link`.
   */
  flow?: CallbackFlow
  /** SSO: the organization the person was sent to; the profile must belong to it. */
  organizationId?: string
  /**
   * SSO: the PKCE verifier. Sealed here, so a code seen without its state (a log, a referrer)
   * cannot be exchanged by anyone; the state itself is as secret as the code.
   */
  codeVerifier?: string
}

interface SealedPayload extends SignInState {
  issuedAt: number
}

export async function signState(secrets: readonly string[], state: SignInState): Promise<string> {
  const payload: SealedPayload = { ...state, issuedAt: Math.floor(Date.now() / 1000) }
  return seal(secrets[0]!, PURPOSE, JSON.stringify(payload))
}

/** The contents of a genuine, fresh state; null when it is missing, forged or stale. */
export async function verifyState(
  secrets: readonly string[],
  state: string | undefined,
  now = Date.now(),
): Promise<SignInState | null> {
  if (!state || state.length > MAX_STATE_LENGTH) return null
  const plaintext = await unseal(secrets, PURPOSE, state)
  if (plaintext === null) return null
  let payload: Partial<SealedPayload>
  try {
    payload = JSON.parse(plaintext) as Partial<SealedPayload>
  } catch {
    return null
  }
  const { issuedAt, email, browser, flow, organizationId, codeVerifier } = payload
  if (typeof issuedAt !== 'number' || typeof email !== 'string' || typeof browser !== 'string')
    return null
  const age = now / 1000 - issuedAt
  if (age > STATE_MAX_AGE_SECONDS || age < -60) return null
  return {
    returnTo: safeReturnTo(payload.returnTo),
    email,
    browser,
    flow: isCallbackFlow(flow) ? flow : 'link',
    ...(typeof organizationId === 'string' && { organizationId }),
    ...(typeof codeVerifier === 'string' && { codeVerifier }),
  }
}
