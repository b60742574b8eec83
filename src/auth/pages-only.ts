import type { AppContext } from '../app-env'
import type { Next } from 'hono'
import { GatewayError } from '../errors'
import { log } from '../log'

// Where the gateway's pages share a browser origin with an origin's pages (no SIGN_IN_HOST), a
// script on any of them sends the person's cookie with its fetch() like the gateway's own forms
// do. The steps that reveal a secret or act on every session (enrolling a second factor, which
// shows its secret; the sessions list and ending one; signing out everywhere) are taken only from
// a top-level navigation: browsers mark each request with Sec-Fetch-Dest, which scripts cannot
// set: `document` for the window's own page, `empty` for fetch() and XHR, `iframe` for a form a
// script submits into a hidden frame. The gateway's pages never call these any other way.
// Clients that are not browsers send no Sec-Fetch-Dest (Node's fetch sends Sec-Fetch-Mode only)
// and keep the JSON API. This narrows what a same-host script can do; it is not a boundary (a
// script can still open the page in a window of its own): SIGN_IN_HOST is (README).

/** True for a browser request that is not a top-level navigation: a script's, or a frame's. */
export function isScriptRequest(c: AppContext): boolean {
  const destination = c.req.header('sec-fetch-dest')
  return destination !== undefined && destination !== 'document'
}

/** Middleware: refuses a script's request, with a JSON answer that names why. */
export async function pagesOnly(c: AppContext, next: Next) {
  if (isScriptRequest(c)) refuseScript()
  await next()
}

export function refuseScript(): never {
  log({ event: 'refused_script_request' })
  throw new GatewayError(
    403,
    'navigation_required',
    'Open this page in the browser: it cannot be used from a script on a web page.',
  )
}
