import type { AppContext } from '../app-env'
import { bindBrowser } from '../sign-in/browser-binding'
import { signState } from '../sign-in/state'
import { publicOrigin } from '../context'
import { workosClient } from '../workos'

/**
 * The WorkOS authorize URL that sends a person to their organization's identity provider. The
 * SSO API (not AuthKit): the same `sso.getProfileAndToken` exchange Magic Link already uses, and
 * its profile carries the IdP's groups and the membership's role (README: SSO). The state is
 * sealed, names the flow and the organization, binds the browser (as for links), and carries the
 * PKCE verifier whose challenge goes in the URL.
 */
export async function ssoAuthorizeUrl(
  c: AppContext,
  request: { organizationId: string; email: string; returnTo: string },
): Promise<string> {
  const config = c.get('config')
  const workos = workosClient(config)
  const { codeVerifier, codeChallenge } = await workos.pkce.generate()
  const state = await signState(config.sessionSecrets, {
    returnTo: request.returnTo,
    email: request.email,
    browser: await bindBrowser(c),
    flow: 'sso',
    organizationId: request.organizationId,
    codeVerifier,
  })
  return workos.sso.getAuthorizationUrl({
    organization: request.organizationId,
    clientId: config.workosClientId,
    redirectUri: `${publicOrigin(c)}/auth/callback`,
    state,
    ...(request.email && { loginHint: request.email }),
    codeChallenge,
    codeChallengeMethod: 'S256',
  })
}
