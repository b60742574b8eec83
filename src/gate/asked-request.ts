import type { AppContext } from '../app-env'
import { requestUrl } from '../context'

/**
 * The gate's two modes: `proxy` decides the request itself and forwards it; `forward-auth`
 * (GET /auth/verify) decides the request a proxy in front of other services names, and answers
 * with who it is for (src/auth/verify.ts).
 */
export type GateMode = 'proxy' | 'forward-auth'

/** The request the gate decides on. */
export interface AskedRequest {
  /** As sent (the request URL's, or the proxy's X-Forwarded-Host); matchRoute normalises it. */
  readonly host: string
  /** The pathname exactly as the origin receives it, never re-resolved. */
  readonly path: string
  readonly method: string
  /** The query without its `?`: where a `_method` may be. */
  readonly query: string
  /** The URI the proxy forwarded, for where to return after signing in; undefined: this URL. */
  readonly uri: string | undefined
}

/** Through the proxy: the request itself. The host is the request URL's, never X-Forwarded-Host. */
export function proxiedRequest(c: AppContext): AskedRequest {
  const url = requestUrl(c)
  return {
    host: url.host,
    path: url.pathname,
    method: c.req.method,
    query: url.search.slice(1),
    uri: undefined,
  }
}

export const isWebSocketUpgrade = (c: AppContext) =>
  (c.req.header('upgrade') ?? '').toLowerCase() === 'websocket'
