import type { Context } from 'hono'
import type { Config } from './config'

declare module 'hono' {
  interface ContextVariableMap {
    config: Config
    /** Made by the gateway for every request; returned and passed to the origin as X-Request-ID. */
    requestId: string
  }
}

export type AppEnv = { Bindings: Env }
export type AppContext = Context<AppEnv>

/** The gateway's own public origin: PUBLIC_URL when set, else the origin the request came to. */
export function publicOrigin(c: Context): string {
  return c.get('config').publicUrl ?? new URL(c.req.url).origin
}

/**
 * The client's address. Cloudflare's edge (and wrangler dev) set CF-Connecting-IP; X-Forwarded-For
 * from a client is never believed. Absent (unit tests), 0.0.0.0.
 */
export function clientIp(c: Context): string {
  return c.req.header('cf-connecting-ip')?.trim() || '0.0.0.0'
}
