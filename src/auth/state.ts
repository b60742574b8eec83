import { base64url, fromBase64url, hmacSign, hmacVerify } from '../crypto'
import { safeReturnTo } from '../redirect'

// The `state` WorkOS echoes back on the callback. It travels through the email and the user's
// address bar, so it is signed: nobody can forge or alter the returnTo it carries.
const PURPOSE = 'workos-state'
// A link lives 15 minutes and the code it yields 10 more; allow that and a little clock skew.
export const STATE_MAX_AGE_SECONDS = 30 * 60

interface StatePayload {
  returnTo: string
  issuedAt: number
}

export async function signState(secrets: readonly string[], returnTo: string): Promise<string> {
  const payload: StatePayload = { returnTo, issuedAt: Math.floor(Date.now() / 1000) }
  const encoded = base64url(new TextEncoder().encode(JSON.stringify(payload)))
  return `${encoded}.${await hmacSign(secrets[0]!, PURPOSE, encoded)}`
}

/** The returnTo inside a genuine, fresh state; null when it is missing, forged or stale. */
export async function verifyState(
  secrets: readonly string[],
  state: string | undefined,
  now = Date.now(),
): Promise<{ returnTo: string } | null> {
  if (!state || state.length > 4096) return null
  const [encoded, signature, ...rest] = state.split('.')
  if (!encoded || !signature || rest.length > 0) return null
  if (!(await hmacVerify(secrets, PURPOSE, encoded, signature))) return null
  const bytes = fromBase64url(encoded)
  if (!bytes) return null
  let payload: Partial<StatePayload>
  try {
    payload = JSON.parse(new TextDecoder().decode(bytes)) as Partial<StatePayload>
  } catch {
    return null
  }
  if (typeof payload.issuedAt !== 'number') return null
  const age = now / 1000 - payload.issuedAt
  if (age > STATE_MAX_AGE_SECONDS || age < -60) return null
  return { returnTo: safeReturnTo(payload.returnTo) }
}
