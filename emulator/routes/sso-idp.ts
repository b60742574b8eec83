import type { Context, Hono } from 'hono'
import { html, raw } from 'hono/html'
import { opaqueToken } from '../ids.ts'
import {
  SSO_CODE_TTL_MS,
  SSO_REQUEST_TTL_MS,
  type EmulatorState,
  type SsoRequest,
  type SsoSignIn,
} from '../state.ts'

// The authorize URLs the SDK builds and the stand-in identity provider behind them.
//
// GET /sso/authorize (sso.getAuthorizationUrl) and GET /user_management/authorize
// (userManagement.getAuthorizationUrl) check the client and the redirect URI first: while either
// is wrong nothing may be sent to that URI, so they answer 400 here. Past that, every failure goes
// back to the redirect URI as `?error=…&error_description=…&state=…`, as WorkOS documents
// (reference/sso/get-authorization-url: organization_invalid). A good request is parked under an
// opaque id and the browser goes to the IdP page, /sso/idp/<id>, where a person (or a test) says
// who they are and allows or denies.

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** The redirect WorkOS makes back to the app, with `state` whenever the request had one. */
function backToApp(
  c: Context,
  redirectUri: string,
  state: string | undefined,
  params: Record<string, string>,
) {
  const target = new URL(redirectUri)
  for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value)
  if (state !== undefined) target.searchParams.set('state', state)
  return c.redirect(target.toString(), 302)
}

function authorize(state: EmulatorState, api: SsoRequest['api']) {
  // The SSO API names the selectors organization/connection, AuthKit organization_id/connection_id.
  const names =
    api === 'sso'
      ? { organization: 'organization', connection: 'connection' }
      : { organization: 'organization_id', connection: 'connection_id' }
  return function authorize(c: Context) {
    const query = c.req.query()
    if (query.client_id !== state.options.clientId) {
      return c.json(
        { message: `Invalid client ID '${query.client_id ?? ''}'.`, code: 'invalid_client' },
        400,
      )
    }
    const redirectUri = query.redirect_uri
    if (!redirectUri || !state.isAllowedRedirectUri(redirectUri)) {
      return c.json(
        {
          message: `The redirect_uri '${redirectUri ?? ''}' is not an allowed redirect URI for this environment.`,
          code: 'invalid_redirect_uri',
        },
        400,
      )
    }
    const fail = (error: string, description: string) =>
      backToApp(c, redirectUri, query.state, { error, error_description: description })

    if (query.response_type !== 'code')
      return fail('unsupported_response_type', "response_type must be 'code'.")
    const organizationId = query[names.organization]
    const connectionId = query[names.connection]
    const selectors = [organizationId, connectionId, query.provider].filter(Boolean)
    // Error names for the selector checks below are unconfirmed against the real API: only
    // organization_invalid is in the SDK's docs; the others follow WorkOS's error table.
    if (selectors.length > 1)
      return fail(
        'ambiguous_connection_selector',
        'Send one of organization, connection, provider.',
      )
    if (selectors.length === 0)
      return fail('invalid_connection_selector', 'Send one of organization, connection, provider.')
    if (query.provider)
      return fail('connection_invalid', `The emulator has no '${query.provider}' provider.`)
    const challenge = query.code_challenge
    const method = query.code_challenge_method
    if ((challenge !== undefined || method !== undefined) && (method !== 'S256' || !challenge))
      return fail('invalid_request', 'PKCE needs a code_challenge with code_challenge_method=S256.')

    let connection
    if (organizationId) {
      if (!state.organizations.has(organizationId))
        return fail('organization_invalid', `Organization '${organizationId}' not found.`)
      connection = state.activeConnectionOf(organizationId)
      if (!connection)
        return fail('organization_invalid', 'No connection associated with organization.')
    } else {
      connection = state.connections.get(connectionId!)
      if (!connection || connection.state !== 'active')
        return fail('connection_invalid', `No active connection '${connectionId}'.`)
    }

    const request: SsoRequest = {
      id: opaqueToken(18),
      api,
      redirectUri,
      state: query.state,
      loginHint: query.login_hint,
      codeChallenge: challenge,
      organizationId: connection.organizationId,
      connectionId: connection.id,
      expiresAt: state.now() + SSO_REQUEST_TTL_MS,
      answered: false,
    }
    state.ssoRequests.set(request.id, request)
    return c.redirect(`${new URL(c.req.url).origin}/sso/idp/${request.id}`, 302)
  }
}

interface PageValues {
  email: string
  firstName: string
  lastName: string
  role: string
  groups: string
}

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; background: #eef1f5; margin: 0; display: grid;
  place-items: center; min-height: 100vh; color: #1c1c22; }
main { background: #fff; padding: 2rem; border-radius: 10px; max-width: 26rem; width: 100%;
  box-shadow: 0 4px 18px rgba(0,0,0,.08); }
label { display: block; font-weight: 600; margin: .8rem 0 .3rem; }
input { width: 100%; box-sizing: border-box; font: inherit; padding: .5rem .6rem; }
.buttons { display: flex; gap: .75rem; margin-top: 1.2rem; }
button { flex: 1; font: inherit; font-weight: 600; padding: .6rem; cursor: pointer; }
.error { background: #fdecec; color: #8a1c1c; padding: .6rem .75rem; border-radius: 6px; }
.muted { color: #666; font-size: .875rem; }
`

function idpPage(
  c: Context,
  organizationName: string,
  connectionLabel: string,
  domains: string[],
  values: PageValues,
  error?: string,
  status: 200 | 400 = 200,
) {
  return c.html(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>Sign in to ${organizationName} (emulated IdP)</title>
          <style>
            ${raw(STYLE)}
          </style>
        </head>
        <body>
          <main>
            <h1>Sign in to ${organizationName}</h1>
            <p class="muted">
              WorkOS emulator: a stand-in identity provider for ${connectionLabel}. Any address at
              ${domains.join(', ') || '(no verified domain)'} may sign in; what you type here is
              what the profile carries.
            </p>
            ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
            <form method="post">
              <label for="email">Email</label>
              <input id="email" name="email" type="email" value="${values.email}" required />
              <label for="first_name">First name</label>
              <input id="first_name" name="first_name" type="text" value="${values.firstName}" />
              <label for="last_name">Last name</label>
              <input id="last_name" name="last_name" type="text" value="${values.lastName}" />
              <label for="role">Role (slug)</label>
              <input id="role" name="role" type="text" value="${values.role}" />
              <label for="groups">Groups (comma-separated)</label>
              <input id="groups" name="groups" type="text" value="${values.groups}" />
              <div class="buttons">
                <button type="submit" name="decision" value="allow">Allow</button>
                <button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
              </div>
            </form>
          </main>
        </body>
      </html>`,
    status,
  )
}

function goneRequest(c: Context) {
  return c.html(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <title>Sign-in request expired</title>
        </head>
        <body>
          <h1>This sign-in request has expired or was already answered.</h1>
          <p>Start the sign-in again from the application.</p>
        </body>
      </html>`,
    400,
  )
}

export function ssoIdpRoutes(app: Hono, state: EmulatorState) {
  app.get('/sso/authorize', authorize(state, 'sso'))
  app.get('/user_management/authorize', authorize(state, 'user_management'))

  const openRequest = (c: Context) => {
    const request = state.ssoRequests.get(c.req.param('id') ?? '')
    if (!request || request.answered || request.expiresAt <= state.now()) return undefined
    return request
  }
  const pageFor = (request: SsoRequest) => {
    const organization = state.organizations.get(request.organizationId)
    const connection = state.connections.get(request.connectionId)
    return {
      organization,
      name: organization?.name ?? request.organizationId,
      label: `${connection?.connectionType ?? 'SSO'} connection ${request.connectionId}`,
      domains: (organization?.domains ?? [])
        .filter((d) => d.state === 'verified')
        .map((d) => d.domain),
    }
  }

  app.get('/sso/idp/:id', (c) => {
    const request = openRequest(c)
    if (!request) return goneRequest(c)
    const page = pageFor(request)
    return idpPage(c, page.name, page.label, page.domains, {
      email: request.loginHint ?? '',
      firstName: '',
      lastName: '',
      role: 'member',
      groups: '',
    })
  })

  app.post('/sso/idp/:id', async (c) => {
    const request = openRequest(c)
    if (!request) return goneRequest(c)
    const form = await c.req.parseBody()
    const field = (name: string) => {
      const value = form[name]
      return typeof value === 'string' ? value.trim() : ''
    }
    const decision = field('decision')
    if (decision === 'deny') {
      request.answered = true
      return backToApp(c, request.redirectUri, request.state, {
        error: 'access_denied',
        error_description: 'The user denied the sign-in at the identity provider.',
      })
    }
    const values: PageValues = {
      email: field('email'),
      firstName: field('first_name'),
      lastName: field('last_name'),
      role: field('role'),
      groups: field('groups'),
    }
    const page = pageFor(request)
    const refuse = (message: string) =>
      idpPage(c, page.name, page.label, page.domains, values, message, 400)
    if (decision !== 'allow') return refuse("Choose 'Allow' or 'Deny'.")
    if (!EMAIL_SHAPE.test(values.email)) return refuse('Enter an email address.')
    // WorkOS signs in a profile outside the organization's domains only when the organization
    // allows it (allow_profiles_outside_organization): then its IdP may assert any address.
    const outsideAllowed = page.organization?.allowProfilesOutsideOrganization === true
    if (
      !page.organization ||
      (!outsideAllowed && !state.isOrganizationEmail(page.organization, values.email))
    ) {
      return refuse(
        `${values.email} is not at a domain of ${page.name} (${page.domains.join(', ') || 'none'}): this organization's IdP does not sign it in.`,
      )
    }
    request.answered = true
    // Deactivated or deleted while the page was open: WorkOS would not finish the sign-in.
    if (state.connections.get(request.connectionId)?.state !== 'active') {
      return backToApp(c, request.redirectUri, request.state, {
        error: 'connection_invalid',
        error_description: `The connection '${request.connectionId}' is no longer active.`,
      })
    }
    const signIn: SsoSignIn = {
      organizationId: request.organizationId,
      connectionId: request.connectionId,
      email: values.email,
      firstName: values.firstName || null,
      lastName: values.lastName || null,
      role: values.role || 'member',
      groups: values.groups
        .split(',')
        .map((group) => group.trim())
        .filter(Boolean),
    }
    // The typed role becomes the person's membership role, as an IdP role assignment does.
    // Done quietly: WorkOS's own events are emitted by the /__ control routes only.
    state.putMembership(signIn.organizationId, signIn.email, [signIn.role])
    state.lastSsoSignIn.set(`${signIn.organizationId} ${signIn.email.toLowerCase()}`, signIn)
    const code = opaqueToken(20)
    state.codes.set(code, {
      code,
      email: signIn.email,
      expiresAt: state.now() + SSO_CODE_TTL_MS,
      used: false,
      api: request.api,
      sso: signIn,
      ...(request.codeChallenge !== undefined && { codeChallenge: request.codeChallenge }),
    })
    return backToApp(c, request.redirectUri, request.state, { code })
  })
}
