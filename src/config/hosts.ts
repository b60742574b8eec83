import type { CompiledAccess } from '../access/index.ts'
import { hostMatches } from '../access/paths.ts'
import type { Config } from './types'
import { httpUrl, list, problemList, type Checked, type Settings } from './settings'

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

/**
 * The gateway's own hosts: PUBLIC_URL, SIGN_IN_HOST and ALLOWED_HOSTS (with the exact hosts the
 * ACCESS policy names, the hosts a session may be handed to).
 */
export function checkHosts(
  e: Settings,
  devMode: boolean,
  access: CompiledAccess | undefined,
): Checked<Pick<Config, 'signInHost' | 'handoffHosts' | 'publicUrl'>> {
  const { problems, fail } = problemList()

  const allowedHosts = list(e.ALLOWED_HOSTS).map((h) => h.toLowerCase())
  if (allowedHosts.some((h) => !HOST_NAME.test(h)))
    fail(
      'ALLOWED_HOSTS',
      'must be a comma list of host names, e.g. "app.example.com,docs.example.com"',
    )
  const handoffHosts = new Set([...allowedHosts, ...(access?.hosts ?? [])])
  let signInHost: string | undefined
  if (e.SIGN_IN_HOST !== undefined) {
    signInHost = e.SIGN_IN_HOST.trim().toLowerCase()
    if (!HOST_NAME.test(signInHost))
      fail('SIGN_IN_HOST', 'must be a host name such as auth.example.com (no scheme, no port)')
    else if (access?.hosts.includes(signInHost))
      // The sign-in host serves the gateway's pages and nothing else: an origin's page there
      // would share a browser origin with sign-in, MFA enrolment and the sessions page (its
      // scripts could plant the sign-in nonce or drive those pages as the person).
      fail(
        'SIGN_IN_HOST',
        'must serve no origin content: an ACCESS route names it (give the route its own host)',
      )
    else if ([...handoffHosts].every((host) => host === signInHost))
      fail(
        'SIGN_IN_HOST',
        'has no other host to hand sessions to: list them in ALLOWED_HOSTS or name them in ACCESS routes',
      )
    handoffHosts.add(signInHost)
  }

  let publicUrl: string | undefined
  if (e.PUBLIC_URL !== undefined) {
    if (!httpUrl.safeParse(e.PUBLIC_URL).success) fail('PUBLIC_URL', 'must be an http(s) origin')
    else publicUrl = new URL(e.PUBLIC_URL).origin
    if (publicUrl && signInHost && new URL(publicUrl).hostname !== signInHost)
      fail(
        'PUBLIC_URL',
        "must be the sign-in host's origin when SIGN_IN_HOST is set (links point there)",
      )
  } else if (!devMode) {
    // Without it, the request's Host would choose where emailed links and WorkOS redirects point.
    fail(
      'PUBLIC_URL',
      "must be set to the gateway's public origin, e.g. https://gateway.example.com",
    )
  }

  // An absolute launcher URL sends a person somewhere from the gateway's own page: only to a host
  // the gateway serves, and never the sign-in host (it serves no application).
  for (const route of access?.routes ?? []) {
    const url = route.launcher?.url
    if (url === undefined || url.startsWith('/')) continue
    const host = new URL(url).hostname
    // A route on any host makes no host "served": a link could then name any site at all.
    const served =
      handoffHosts.has(host) ||
      (publicUrl !== undefined && new URL(publicUrl).hostname === host) ||
      access!.routes.some((other) => other.host.kind !== 'any' && hostMatches(other.host, host))
    if (!served || host === signInHost)
      fail(
        'ACCESS',
        `${route.label}: launcher.url must be on a host the gateway serves and not the sign-in host (PUBLIC_URL's, ALLOWED_HOSTS or a route's host or wildcard)`,
      )
  }

  return { value: { signInHost, handoffHosts, publicUrl }, problems }
}
