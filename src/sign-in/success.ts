import type { AppContext } from '../app-env'
import { personActor, sessionTarget } from '../audit/actors'
import { audit } from '../audit/record'
import { log } from '../log'
import { currentSession, sessionStore } from '../session/current'
import { startSession, type SignedInIdentity } from '../session/start'

/**
 * The step every sign-in method ends in, once it has proved who the person is: replaces whatever
 * session this browser had with a new one (fresh id, no fixation).
 */
export async function signInAs(c: AppContext, identity: SignedInIdentity): Promise<void> {
  const previous = await currentSession(c, { refresh: false })
  if (previous.state === 'active') await sessionStore(c).delete(previous.sessionId)
  const record = await startSession(c, identity)
  log({ event: 'signed_in', signInMethod: identity.method, sid: record.sid })
  audit(c, {
    action: 'gateway.sign_in.succeeded',
    actor: personActor(record),
    targets: [sessionTarget(record)],
    metadata: {
      method: identity.method,
      session: record.sid,
      connection_id: identity.sso?.connectionId,
    },
    organizationId: identity.sso?.organizationId,
  })
}
