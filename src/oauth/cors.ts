import type { AppContext } from '../app-env'
import type { Next } from 'hono'

// Browser-based MCP clients (the MCP Inspector, web IDEs) call the authorization server from
// their own page, on any origin. Its metadata and its API endpoints answer every origin, without
// credentials: none of them reads a cookie, so a page gains nothing by calling them that it could
// not by calling them from a server, and a browser never attaches the person's session. The
// authorize and device pages are navigations and take no part in this.

/** The authorization server's endpoints called with fetch (form or JSON posts, no cookie). */
export const OAUTH_API_PATHS: readonly string[] = [
  '/auth/oauth/register',
  '/auth/oauth/token',
  '/auth/oauth/revoke',
  '/auth/oauth/device_authorization',
]

const PREFLIGHT_MAX_AGE_SECONDS = '86400'

/**
 * Middleware: a preflight (OPTIONS) is answered here, 204 for any origin; every other answer,
 * errors included, carries `Access-Control-Allow-Origin: *` so the calling page can read why.
 */
function anyOrigin(methods: string, headers: string) {
  return async function corsForAnyOrigin(c: AppContext, next: Next) {
    if (c.req.method === 'OPTIONS')
      return new Response(null, {
        status: 204,
        headers: {
          'Access-Control-Allow-Origin': '*',
          'Access-Control-Allow-Methods': methods,
          'Access-Control-Allow-Headers': headers,
          'Access-Control-Max-Age': PREFLIGHT_MAX_AGE_SECONDS,
        },
      })
    await next()
    c.res.headers.set('Access-Control-Allow-Origin', '*')
  }
}

/** For OAUTH_API_PATHS: posts with a form or JSON body, and a bearer token to revoke. */
export const oauthApiCors = anyOrigin('POST', 'content-type, authorization')

/**
 * For the metadata documents (`/.well-known/oauth-*`). MCP clients send their protocol version
 * with discovery requests, and some send their token along too.
 */
export const oauthMetadataCors = anyOrigin('GET, HEAD', 'authorization, mcp-protocol-version')
