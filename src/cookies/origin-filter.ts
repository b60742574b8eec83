import { BoundedMap } from '../bounded-cache'
import { GATEWAY_COOKIES } from './declarations'

// The origin never receives the gateway's cookies, and never sets or clears them: an origin that
// could plant `session`, `signin` or `handoff` could fix a session or skip a browser binding
// (login CSRF). The names come from the declarations, so every gateway cookie is filtered.
const GATEWAY_COOKIE_NAMES = new Set(
  Object.values(GATEWAY_COOKIES).map((cookie) => cookie.name.toLowerCase()),
)

/**
 * True for a gateway cookie name in any case, with any surrounding whitespace. Browsers treat
 * `__Host-` case-insensitively (RFC 6265bis), so `__HOST-session` is refused as well.
 */
export const isGatewayCookieName = (name: string) =>
  GATEWAY_COOKIE_NAMES.has(name.trim().toLowerCase())

/** The Cookie header without the gateway's own cookies (any copy), or null if nothing is left. */
export function withoutGatewayCookies(cookie: string | null): string | null {
  if (!cookie) return null
  // A browser sends the same Cookie header with each request: filter each distinct one once.
  // (Long ones are not kept: at most about 2 MB for the lot.)
  if (cookie.length > MAX_REMEMBERED_LENGTH) return filterCookieHeader(cookie)
  let kept = filtered.get(cookie)
  if (kept === undefined) {
    kept = filterCookieHeader(cookie)
    filtered.set(cookie, kept)
  }
  return kept
}

const MAX_REMEMBERED_LENGTH = 2048
const filtered = new BoundedMap<string, string | null>(1000)

function filterCookieHeader(cookie: string): string | null {
  const kept = cookie
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair.length > 0 && !isGatewayCookieName(pair.split('=', 1)[0]!))
  return kept.length > 0 ? kept.join('; ') : null
}

/**
 * Removes every `Set-Cookie` of the origin's that names a gateway cookie. The name is what comes
 * before the first "=" of the first attribute; a cookie string without "=" is a nameless cookie
 * whose value browsers send as is, so it is judged by that value.
 */
export function dropGatewaySetCookies(headers: Headers): number {
  const all = headers.getSetCookie()
  const kept = all.filter((line) => {
    let pair = line.split(';', 1)[0]!.trim()
    // "=__Host-session=v": an empty name, whose value a browser may send back as a cookie of
    // that name; judge it by its value, as a string without "=" is judged.
    if (pair.startsWith('=')) pair = pair.slice(1)
    const equals = pair.indexOf('=')
    return !isGatewayCookieName(equals === -1 ? pair : pair.slice(0, equals))
  })
  if (kept.length === all.length) return 0
  headers.delete('set-cookie')
  for (const line of kept) headers.append('set-cookie', line)
  return all.length - kept.length
}
