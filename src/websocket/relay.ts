import type { AppContext } from '../app-env'
import type { ForwardIdentity } from '../assertion/sign'
import { inBackground } from '../background'
import { requestUrl } from '../context'
import { log } from '../log'
import { DEFAULT_TARGET, destination, forwardedHeaders, originAnswer } from '../proxy'
import type { ProxiedRoute } from '../identity-headers'
import type { SocketGrant } from './grant'
import { authorityOf } from '../revocation/authority-client'
import { watchGrant, type GrantEnd } from './grant-watch'

// WebSockets through the gateway (README "WebSockets"). The gate has decided the upgrade like
// any request; here the page's Origin is checked, the origin is asked for its own socket with the
// same headers a request gets (identity, assertion, no gateway cookie), and the two sockets are
// paired through the Worker rather than handing the origin's socket straight back: only a relay
// can close the socket later, when the session ends, and a socket must not outlive its grant.

/** The close code and reason the client sees when the gateway ends its socket. */
const POLICY_VIOLATION = 1008
const CLOSE_REASONS: Record<GrantEnd, { code: number; reason: string }> = {
  expired: { code: POLICY_VIOLATION, reason: 'session ended' },
  revoked: { code: POLICY_VIOLATION, reason: 'session ended' },
  // 1013 "Try Again Later": the grant may well be fine once KV answers again.
  unverifiable: { code: 1013, reason: 'session could not be re-checked' },
}

// The client's own handshake headers: workerd opens its own connection to the origin and makes
// its own key, version and extension offer for it. Sec-WebSocket-Protocol is kept (forwarded by
// forwardedHeaders) so the origin chooses the subprotocol.
const CLIENT_HANDSHAKE = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']

export async function relayWebSocket(
  c: AppContext,
  grant: SocketGrant,
  route?: ProxiedRoute,
): Promise<Response> {
  if (!originMayConnect(c, grant.allowedOrigins)) {
    log({ event: 'refused_websocket_origin' })
    c.header('Cache-Control', 'no-store')
    return c.json(
      {
        error: 'websocket_origin_not_allowed',
        message: 'A page from another site may not open a WebSocket to this application.',
      },
      403,
    )
  }

  const { url, fetch: viaBinding } = destination(c, route?.target ?? DEFAULT_TARGET, requestUrl(c))
  // The route's own assertion audience, as for any request through it (src/proxy.ts).
  const headers = await forwardedHeaders(c, grant.identity, route)
  // forwardedHeaders drops hop-by-hop headers, Upgrade among them: the upgrade needs it back.
  headers.set('upgrade', 'websocket')
  for (const name of CLIENT_HANDSHAKE) headers.delete(name)
  let answer: Response
  try {
    answer = await (viaBinding ?? fetch)(url, { headers, redirect: 'manual' })
  } catch {
    log({ event: 'origin_unreachable', websocket: true })
    return originUnavailable(c)
  }

  const upstream = answer.webSocket
  if (!upstream) {
    // The origin refused the upgrade (or ignored it): its answer goes back as for any request.
    // A 101 without a socket cannot be passed on.
    if (answer.status === 101) return originUnavailable(c)
    log({ event: 'websocket_refused_by_origin', originStatus: answer.status })
    return originAnswer(answer).response
  }

  const pair = new WebSocketPair()
  const client = pair[0]
  const toClient = pair[1]
  // Binary messages are relayed as the bytes they came as, never turned into Blobs on the way.
  toClient.binaryType = 'arraybuffer'
  upstream.binaryType = 'arraybuffer'
  toClient.accept()
  upstream.accept()
  // The relay runs after the 101 is returned, on event listeners and timers in this request's
  // context. waitUntil holds that context (and so the end and re-check timers) until the relay is
  // over: the promise settles when the sockets close, and only then. A WebSocket answer is not
  // complete while the socket is open, so waitUntil's 30 s grace only starts once it closes.
  inBackground(c, relay(c, toClient, upstream, grant))
  log({
    event: 'websocket_opened',
    ...(grant.identity?.kind === 'person' && { sid: grant.identity.sid }),
    ...(grant.identity?.kind === 'service' && { serviceTokenId: grant.identity.id }),
    ...(grant.endsAt !== undefined && { endsAt: new Date(grant.endsAt).toISOString() }),
  })

  const reply = new Headers({ 'Cache-Control': 'no-store' })
  const protocol = answer.headers.get('sec-websocket-protocol')
  if (protocol) reply.set('Sec-WebSocket-Protocol', protocol)
  return new Response(null, { status: 101, webSocket: client, headers: reply })
}

/**
 * A browser sends the page's Origin with every upgrade and attaches the gateway's cookie whatever
 * that origin is, so without this check any site could open a socket as its visitor (cross-site
 * WebSocket hijacking). No Origin at all is a client that is not a browser, and carries only the
 * credentials it was given.
 */
function originMayConnect(c: AppContext, allowed: ReadonlySet<string> | undefined): boolean {
  const origin = c.req.header('origin')
  if (origin === undefined) return true
  // The host's own origin only: never the sign-in host's (PUBLIC_URL) on an app host, where a
  // page of whatever the sign-in host serves could otherwise open sockets as the person.
  return origin === requestUrl(c).origin || (allowed?.has(origin) ?? false)
}

function originUnavailable(c: AppContext): Response {
  c.header('Cache-Control', 'no-store')
  return c.json(
    { error: 'origin_unavailable', message: 'The site is not answering. Please try again.' },
    502,
  )
}

/** The origin's answer as it came, less any gateway cookie it tries to set (as in src/proxy.ts). */
/**
 * Relays messages both ways until either side closes, and closes both when the grant ends.
 * Settles once the relay is over and every timer is cleared.
 */
function relay(
  c: AppContext,
  toClient: WebSocket,
  upstream: WebSocket,
  grant: SocketGrant,
): Promise<void> {
  const requestId = c.get('requestId')
  const openedAt = Date.now()
  return new Promise((settle) => {
    let over = false
    const finish = () => {
      if (over) return
      over = true
      stopWatching()
      unsubscribe()
      settle()
    }
    const closeBoth = (code: number, reason: string) => {
      closeQuietly(toClient, code, reason)
      closeQuietly(upstream, code, reason)
      finish()
    }
    const endGrant = (why: GrantEnd, pushed = false) => {
      if (over) return
      // This runs after the request's own log line was written: a line of its own.
      log({
        event: 'websocket_closed_by_gateway',
        requestId,
        why,
        ...(pushed && { pushed }),
        openSeconds: Math.round((Date.now() - openedAt) / 1000),
      })
      const { code, reason } = CLOSE_REASONS[why]
      closeBoth(code, reason)
    }
    const stopWatching = watchGrant(grant, c.get('config').websocketRecheckSeconds * 1000, endGrant)
    const unsubscribe = pushedEnds(
      c,
      grant,
      () => endGrant('revoked', true),
      () => endGrant('unverifiable'),
    )

    const pipe = (from: WebSocket, to: WebSocket) => {
      from.addEventListener('message', (event) => {
        try {
          to.send(event.data)
        } catch {
          // The other side is already closing; its own close event ends the relay.
        }
      })
      from.addEventListener('close', (event) => {
        closeQuietly(to, closeCodeFor(event.code), event.reason)
        finish()
      })
      from.addEventListener('error', () => {
        closeQuietly(to, 1011, 'peer error')
        finish()
      })
    }
    pipe(toClient, upstream)
    pipe(upstream, toClient)
  })
}

/**
 * The grant's ends, pushed by the revocation authority: `onEnd` runs within a moment of one being
 * recorded anywhere. An end recorded between the gate's decision and the subscription is caught
 * by one re-check once subscribed, from a view read after it. A subscription that drops (the
 * authority restarted) is made again, with the same re-check. One that cannot be made, or drops
 * more than MAX_DROPS_A_MINUTE times a minute, calls `onLost`: no end could reach the socket, so
 * it is closed (1013) rather than left open on the periodic re-check alone. Returns the
 * unsubscribe.
 */
function pushedEnds(
  c: AppContext,
  grant: SocketGrant,
  onEnd: () => void,
  onLost: () => void,
): () => void {
  const authority = authorityOf(c)
  let stopped = false
  let stopCurrent: (() => void) | undefined
  let drops: number[] = []
  const subscribe = async (): Promise<void> => {
    const tags = await grant.endTags()
    if (tags.length === 0 || stopped) return
    try {
      stopCurrent = await authority.subscribe(tags, onEnd, dropped)
    } catch {
      log({ event: 'websocket_unsubscribed', requestId: c.get('requestId') })
      return onLost()
    }
    if (stopped) return stopCurrent()
    try {
      await authority.readNow()
      if (!(await grant.stillAllowed())) onEnd()
    } catch {
      // The periodic re-check tries again.
    }
  }
  const dropped = () => {
    if (stopped) return
    const now = Date.now()
    drops = [...drops.filter((at) => now - at < 60_000), now]
    if (drops.length > MAX_DROPS_A_MINUTE) {
      log({ event: 'websocket_unsubscribed', requestId: c.get('requestId') })
      return onLost()
    }
    void subscribe().catch(onLost)
  }
  void subscribe().catch(onLost)
  return () => {
    stopped = true
    stopCurrent?.()
  }
}

/** A subscription that keeps dropping (more often than this a minute) is not made again. */
const MAX_DROPS_A_MINUTE = 3

/**
 * The code to pass on for a close received from the other side. close() refuses the codes RFC 6455
 * §7.4.1 reserves for reporting what never crossed the wire: 1005 (closed without a code) is
 * passed on as a normal close, 1006 (the connection dropped) and 1015 (TLS failed), like any code
 * outside the defined ranges, as 1011 (the other side failed).
 */
export function closeCodeFor(received: number): number {
  if (received === 1005) return 1000
  const defined =
    (received >= 1000 && received <= 1003) ||
    (received >= 1007 && received <= 1014) ||
    (received >= 3000 && received <= 4999)
  return defined ? received : 1011
}

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  // WebSocket.CLOSING and CLOSED: the close is already under way, or done.
  if (socket.readyState >= 2) return
  try {
    socket.close(code, truncateReason(reason))
  } catch {
    // Closed meanwhile by the other side: nothing left to do.
  }
}

/** A close reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5: 125-byte control frame payload). */
function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason)
  if (bytes.length <= 123) return reason
  return new TextDecoder().decode(bytes.slice(0, 123)).replace(/\uFFFD$/, '')
}
