import type { AppContext } from '../app-env'
import { audit } from './record'

/**
 * A sign-in that was refused after the person tried to prove who they are: a wrong or expired
 * code, a used link, an identity the gateway does not admit, an IdP's refusal. The reason is the
 * gateway's own word for it, never the code or link tried. `email` is the address the attempt was
 * for, when the gateway knows it (the actor's id; masked if it goes to the log).
 */
export function auditRefusedSignIn(
  c: AppContext,
  method: string,
  reason: string,
  email: string | undefined,
  /** SSO: the organization the person was sent to sign in with. */
  organizationId?: string,
): void {
  audit(c, {
    action: 'gateway.sign_in.failed',
    actor: { type: 'email', id: email || 'unknown' },
    targets: [{ type: 'sign_in_method', id: method }],
    metadata: { method, reason },
    organizationId,
  })
}
