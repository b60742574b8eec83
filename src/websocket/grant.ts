import type { ForwardIdentity } from '../assertion/sign'

/** What a relayed socket needs to know to close itself when its grant ends. */
export interface SocketGrant {
  /** Null on a public route without a session or token: relayed anonymously. */
  identity: ForwardIdentity | null
  /** Epoch ms: the session's absolute end (a service token's expiry), or undefined. */
  endsAt: number | undefined
  /** Re-checks the grant without caches; false closes the socket (1008). */
  stillAllowed: () => Promise<boolean>
  /**
   * The revocation authority's tags for the ends that end this grant: the socket subscribes and
   * is closed the moment one is recorded. Empty: nothing to end (a public route).
   */
  endTags: () => Promise<readonly string[]>
  /**
   * Origins (besides the gateway's own) whose pages may open this socket: the route's
   * `cors.origins`. Any other `Origin` is refused with 403 (cross-site WebSocket hijacking).
   */
  allowedOrigins: ReadonlySet<string> | undefined
}
