import type { AppContext } from '../app-env'
import { allowed } from '../abuse/rate-limit'
import { clientKey } from '../abuse/client-key'
import { inBackground } from '../background'
import { log } from '../log'
import { audit } from './record'

/**
 * A sign-in that was refused after the person tried to prove who they are: a wrong or expired
 * code, a used link, an identity the gateway does not admit, an IdP's refusal. The reason is the
 * gateway's own word for it, never the code or link tried. `email` is the address the attempt was
 * for, when the gateway knows it (the actor's id; masked if it goes to the log).
 *
 * Anyone can start a sign-in and then fail it again and again (a sealed state replayed at the
 * callback), so these are charged to the client's address: past 10 in 10 s (VERIFY_LIMIT_IP,
 * under a key of its own) a refusal is a log line only, and WorkOS's audit log cannot be flooded.
 */
export function auditRefusedSignIn(
  c: AppContext,
  refused: {
    method: string
    reason: string
    email: string | undefined
    /** SSO: the organization the person was sent to sign in with. */
    organizationId?: string | undefined
    /** What makes the attempt one (a sign-in state): its replays are one event at WorkOS. */
    once?: string
  },
): void {
  const { method, reason, email, organizationId, once } = refused
  inBackground(
    c,
    (async () => {
      const within = await allowed(c, 'VERIFY_LIMIT_IP', `audit:${clientKey(c)}`).catch(() => false)
      if (!within) {
        log({ event: 'audit_sign_in_refusal_not_recorded', reason })
        return
      }
      audit(c, {
        action: 'gateway.sign_in.failed',
        actor: { type: 'email', id: email || 'unknown' },
        targets: [{ type: 'sign_in_method', id: method }],
        metadata: { method, reason },
        organizationId,
        ...(once !== undefined && { once }),
      })
    })(),
  )
}
