// What `npm run access -- lint` says about where people sign in (README "What an origin on the
// same host as sign-in can do"). The Worker enforces the rest: a route naming SIGN_IN_HOST is a
// configuration error (config.ts), and the sign-in host never serves origin content.
import { hostMatches } from './paths.ts'
import type { CompiledAccess } from './types.ts'

export function lintSignInHost(access: CompiledAccess, signInHost: string | undefined): string[] {
  if (signInHost === undefined)
    return [
      'SIGN_IN_HOST is not set: the sign-in pages share each host with the origins routed there, ' +
        'so a script on any of their pages (public routes included) runs as the signed-in person ' +
        'at the gateway (it can plant a sign-in nonce, start a sign-in, sign the person out). ' +
        'Serve only origins you trust as much as the gateway, or set SIGN_IN_HOST to a host that ' +
        'serves nothing else',
    ]
  return access.routes
    .filter((route) => route.host.kind !== 'exact' && hostMatches(route.host, signInHost))
    .map(
      (route) =>
        `${route.label} matches host ${route.hostText}, but never serves ${signInHost}: the ` +
        'sign-in host serves the gateway and nothing else',
    )
}
