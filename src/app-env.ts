import type { Context } from 'hono'
import type { Config } from './config/types'

// What every handler finds on its context, typed once for the whole app (`c.get('config')`).
declare module 'hono' {
  interface ContextVariableMap {
    config: Config
    /** Made by the gateway for every request; returned and passed to the origin as X-Request-ID. */
    requestId: string
    /** The request's URL, parsed once (requestUrl). */
    url: URL
    /** The client's address, read once (clientIp). */
    clientIp: string
  }
}

/** The Worker's bindings, so `c.env.SESSIONS` is a KVNamespace without a cast. */
export type AppEnv = { Bindings: Env }
/** The context every handler and helper takes. */
export type AppContext = Context<AppEnv>
