import type { AppContext } from '../app-env'
import { withinMs } from '../deadline'
import { GatewayError } from '../errors'
import { log } from '../log'
import type { RevocationAuthority } from './authority'
import type { End } from './ends'
import type { Revocations } from './revocations'
import { EndsView } from './view'

// An isolate's link to the revocation authority (src/revocation/authority.ts). Its view is
// refreshed at most once per REVOCATION_BOUND_SECONDS, by the first request that finds it older:
// that request waits for the read, the others in the meantime join it. README "Revocation".

/** The one object every end goes to (README: cost at scale). */
const AUTHORITY_NAME = 'ends'
/** A read or a record past this answers 503 (or serves a view up to twice the bound old). */
const AUTHORITY_DEADLINE_MS = 2000

/** One per Worker `env` (so one per isolate in production; one per gateway instance in tests). */
class Authority implements Revocations {
  readonly view = new EndsView()
  private reading: Promise<void> | undefined

  constructor(private readonly namespace: DurableObjectNamespace<RevocationAuthority>) {}

  private get stub() {
    return this.namespace.get(this.namespace.idFromName(AUTHORITY_NAME))
  }

  async record(end: End): Promise<void> {
    try {
      await withinMs(this.stub.record(end), AUTHORITY_DEADLINE_MS)
    } catch {
      log({ event: 'revocation_unrecorded', kind: end.kind, outcome: 'revocation_unavailable' })
      throw unavailable()
    }
    // Known here at once, before the next read brings it back.
    this.view.add(end)
  }

  endsSession: Revocations['endsSession'] = (handle, personKey, session) =>
    this.view.endsSession(handle, personKey, session)

  endsToken: Revocations['endsToken'] = (id) => this.view.endsToken(id)

  /**
   * The view, read again when it is `boundMs` old or older; undefined when it is fresh (the
   * common request: no await, no subrequest). A failed read leaves a view up to twice the bound
   * old in use, then refuses.
   */
  refreshIfOlder(boundMs: number, now = Date.now()): Promise<void> | undefined {
    if (now - this.view.refreshedAt < boundMs) return undefined
    this.reading ??= this.read().finally(() => (this.reading = undefined))
    return this.reading.catch(() => {
      if (Date.now() - this.view.refreshedAt <= 2 * boundMs) return
      throw unavailable()
    })
  }

  /**
   * Subscribes to the ends recorded under `tags`: `onEnd` runs once, the moment one is. Resolves
   * to the unsubscribe. A subscription that cannot be made throws; one that drops before it is
   * unsubscribed (the authority restarted, the connection broke) calls `onDrop` once.
   */
  async subscribe(
    tags: readonly string[],
    onEnd: () => void,
    onDrop: () => void,
  ): Promise<() => void> {
    const url = new URL('https://authority/subscribe')
    for (const tag of tags) url.searchParams.append('tag', tag)
    const answer = await withinMs(
      this.stub.fetch(url, { headers: { upgrade: 'websocket' } }),
      AUTHORITY_DEADLINE_MS,
    )
    const socket = answer.webSocket
    if (!socket) throw new Error(`the authority refused the subscription (${answer.status})`)
    socket.accept()
    let told = false
    let over = false
    socket.addEventListener('message', () => {
      if (told) return
      told = true
      onEnd()
    })
    const dropped = () => {
      if (over) return
      over = true
      onDrop()
    }
    socket.addEventListener('close', dropped)
    socket.addEventListener('error', dropped)
    return () => {
      over = true
      try {
        socket.close(1000, 'done')
      } catch {
        // Already closed.
      }
    }
  }

  /** Where reading WorkOS's Events API left off (src/webhooks/recover-events.ts). */
  eventsCursor(): Promise<string | null> {
    return withinMs(this.stub.eventsCursor(), AUTHORITY_DEADLINE_MS)
  }

  setEventsCursor(eventId: string): Promise<void> {
    return withinMs(this.stub.setEventsCursor(eventId), AUTHORITY_DEADLINE_MS)
  }

  /** A read of its own, sent now (a strict route: nothing recorded before this request is missed). */
  async readNow(): Promise<void> {
    await this.read().catch(() => {
      throw unavailable()
    })
  }

  private async read(): Promise<void> {
    const askedAt = Date.now()
    try {
      const { seq, storage } = this.view
      const changes = await withinMs(this.stub.changesSince(seq, storage), AUTHORITY_DEADLINE_MS)
      this.view.apply(changes, askedAt)
    } catch (error) {
      log({ event: 'revocation_view_stale', outcome: 'revocation_unavailable' })
      throw error
    }
  }
}

const authorities = new WeakMap<object, Authority>()

/** This gateway instance's link to the authority. */
export function authorityOf(c: AppContext): Authority {
  let authority = authorities.get(c.env)
  if (!authority) {
    authority = new Authority(c.env.REVOCATIONS)
    authorities.set(c.env, authority)
  }
  return authority
}

/** Before a grant is judged: the view no older than REVOCATION_BOUND_SECONDS. */
export function revocationsReady(c: AppContext): Promise<void> | undefined {
  return authorityOf(c).refreshIfOlder(c.get('config').revocationBoundSeconds * 1000)
}

function unavailable(): GatewayError {
  return new GatewayError(
    503,
    'revocation_unavailable',
    'We cannot check your sign-in right now. Please try again in a moment.',
    { 'Retry-After': '2' },
  )
}
