import type { Context } from 'hono'
import { requestUrl } from '../context'
import type { PublicPath } from '../config'
import { forwardToOrigin } from '../proxy'
import { relayWebSocket } from '../websocket/relay'
import { badUpgradeAnswer, isWebSocketUpgrade, signInAnswer } from './answers'
import { callerOf } from './principal'

// Without ACCESS: PUBLIC_PATHS pass straight through, anything else needs a session, and any
// signed-in person may use it.

// Encoded "/", "\" or ".", ";" path parameters, and escapes that a second decoding pass (an
// encoded "%": /pub/%252e%252e/admin) or IIS-style %u escapes turn into one of those, can be read
// by the origin as a different path (/assets/..%2Fadmin); such paths never count as public, so
// they need a session.
const AMBIGUOUS_PATH = /%2f|%5c|%2e|%25|%u|;|\\/i

export function isPublicPath(path: string, publicPaths: readonly PublicPath[]): boolean {
  if (publicPaths.length === 0 || AMBIGUOUS_PATH.test(path)) return false
  return publicPaths.some((entry) =>
    entry.prefix ? path.startsWith(entry.path) : path === entry.path,
  )
}

export async function sessionGate(c: Context): Promise<Response> {
  const badUpgrade = badUpgradeAnswer(c)
  if (badUpgrade) return badUpgrade
  const url = requestUrl(c)
  if (isPublicPath(url.pathname, c.get('config').publicPaths)) return forwardToOrigin(c, null)

  const caller = await callerOf(c, { serviceTokens: false })
  if (!caller.principal) return signInAnswer(c, caller.reason)
  if (isWebSocketUpgrade(c)) {
    return relayWebSocket(c, {
      identity: caller.identity,
      endsAt: caller.endsAt,
      stillAllowed: async () => (await caller.reread()) !== null,
      allowedOrigins: undefined,
    })
  }
  return forwardToOrigin(c, caller.identity)
}
