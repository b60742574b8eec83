import { expect } from 'vitest'
import { GATEWAY, gatewayWith, json } from './helpers'

// An OAuth client as the authorization-code tests drive it: it registers, makes its PKCE pair
// with Web Crypto, sends the person's browser to the authorize URL, and reads what comes back at
// its redirect URI (never followed: the Location is the client's to read). Below it, a command
// line as the device-grant tests drive it, and the person's browser on the device pages.

/** Routes for the OAuth tests: one per way a route can decide a person. */
export const OPS_EMAIL = `ops-${Date.now().toString(36)}@example.com`
export const ACCESS = JSON.stringify({
  routes: [
    { name: 'mcp', path: '/mcp/*' },
    { name: 'ops', path: '/ops/*', allow: [{ emails: [OPS_EMAIL] }] },
    { name: 'office', path: '/office/*', allow: [{ ips: ['203.0.113.0/24'] }] },
    { name: 'fresh', path: '/fresh/*', maxSignInAge: 60 },
    {
      name: 'second-factor',
      path: '/mfa-only/*',
      allow: [{ domains: ['example.com'], mfa: true }],
    },
    { name: 'browser-only', path: '/browser-only/*', oauth: false },
    { name: 'app', path: '/*' },
  ],
})
export const MCP = `${GATEWAY}/mcp`
export const LOOPBACK_REDIRECT = 'http://127.0.0.1:8976/callback'

/** A request as the person's browser navigates: their cookie, a page, Sec-Fetch-Dest document. */
export const navigate = (path: string, cookie?: string, headers: Record<string, string> = {}) =>
  gatewayWith({ ACCESS }, path, {
    headers: {
      accept: 'text/html',
      'sec-fetch-dest': 'document',
      ...(cookie && { cookie }),
      ...headers,
    },
  })

export async function register(
  redirectUris: string[] = [LOOPBACK_REDIRECT],
  clientName = 'Test MCP Client',
  grantTypes?: string[],
): Promise<string> {
  const response = await gatewayWith(
    { ACCESS },
    '/auth/oauth/register',
    json({
      client_name: clientName,
      redirect_uris: redirectUris,
      ...(grantTypes && { grant_types: grantTypes }),
    }),
  )
  expect(response.status).toBe(201)
  return ((await response.json()) as { client_id: string }).client_id
}

const base64url = (bytes: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

/** RFC 7636: a fresh verifier and its S256 challenge. */
export async function pkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)))
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))
  return { verifier, challenge: base64url(digest) }
}

/** The authorize path for these parameters (a value of undefined leaves the parameter out). */
export function authorizePath(params: Record<string, string | undefined>): string {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) query.set(name, value)
  return `/auth/oauth/authorize?${query}`
}

/** A well-formed authorization request of `clientId` for `resource`. */
export const requestFor = (
  clientId: string,
  challenge: string,
  overrides: Record<string, string | undefined> = {},
) =>
  authorizePath({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: LOOPBACK_REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'client-state-123',
    resource: MCP,
    ...overrides,
  })

/** The sealed consent the page's form carries. */
export function consentOf(page: string): string {
  const match = /name="consent" value="([^"]+)"/.exec(page)
  if (!match) throw new Error('no consent form on the page')
  return match[1]!
}

/** The content type of every form the OAuth endpoints and the device pages take. */
export const FORM = 'application/x-www-form-urlencoded'

/** A form the person's browser posts on the gateway's pages (a top-level, same-origin navigation). */
export const browserPost = (
  path: string,
  cookie: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
  overrides: Record<string, unknown> = {},
) =>
  cliPost(
    path,
    fields,
    { origin: GATEWAY, accept: 'text/html', 'sec-fetch-dest': 'document', cookie, ...headers },
    overrides,
  )

/** The person's answer on the consent page, posted as their browser does. */
export const answer = (
  cookie: string,
  consent: string,
  decision: 'approve' | 'deny',
  headers: Record<string, string> = {},
) => browserPost('/auth/oauth/authorize', cookie, { consent, decision }, headers)

/** The query of a redirect to the client, once checked to be to its redirect URI. */
export function backAtClient(response: Response, redirectUri = LOOPBACK_REDIRECT): URLSearchParams {
  expect([302, 303]).toContain(response.status)
  const location = new URL(response.headers.get('location')!)
  expect(`${location.origin}${location.pathname}`).toBe(redirectUri)
  return location.searchParams
}

/** The whole approval: the consent page, Allow, and the code at the redirect URI. */
export async function approvedCode(
  cookie: string,
  clientId: string,
  challenge: string,
  overrides: Record<string, string | undefined> = {},
): Promise<string> {
  const page = await navigate(requestFor(clientId, challenge, overrides), cookie)
  expect(page.status).toBe(200)
  const back = backAtClient(await answer(cookie, consentOf(await page.text()), 'approve'))
  return back.get('code')!
}

/** A form post as a public client or a command line sends it: no cookie, no Origin. */
export const cliPost = (
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
  overrides: Record<string, unknown> = {},
) =>
  gatewayWith({ ACCESS, ...overrides }, path, {
    method: 'POST',
    headers: { 'content-type': FORM, ...headers },
    body: new URLSearchParams(fields).toString(),
  })

/** POST /auth/oauth/token with a form, as a public client does (no cookie, no Origin). */
export const tokenRequest = (fields: Record<string, string>) => cliPost('/auth/oauth/token', fields)

/** POST /auth/oauth/revoke (RFC 7009) with a form, as a public client does. */
export const revokeRequest = (fields: Record<string, string>) =>
  cliPost('/auth/oauth/revoke', fields)

/** The token endpoint's answer when it issues tokens. */
export interface Tokens {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token: string
  scope?: string
}

/** The exchange of an approved code, as the client that asked for it makes it. */
export const exchangeCode = (
  clientId: string,
  code: string,
  verifier: string,
  extra: Record<string, string> = {},
) =>
  tokenRequest({
    grant_type: 'authorization_code',
    client_id: clientId,
    code,
    code_verifier: verifier,
    redirect_uri: LOOPBACK_REDIRECT,
    ...extra,
  })

/** What a bearer request with this access token gets on the MCP route: 200 or 401. */
export const mcpStatus = async (accessToken: string) => {
  const response = await gatewayWith({ ACCESS }, '/mcp/tools', {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
  })
  await response.body?.cancel()
  return response.status
}

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** What POST /auth/oauth/device_authorization answers. */
export interface DeviceAnswer {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

/** A command line's registration: the device grant and refresh tokens, no redirect URI. */
export async function registerCli(name = 'Test CLI'): Promise<string> {
  const response = await gatewayWith(
    { ACCESS },
    '/auth/oauth/register',
    json({ client_name: name, grant_types: [DEVICE_GRANT, 'refresh_token'] }),
  )
  expect(response.status).toBe(201)
  return ((await response.json()) as { client_id: string }).client_id
}

/** POST /auth/oauth/device_authorization, as a command line sends it. */
export const askDevice = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
  cliPost('/auth/oauth/device_authorization', fields, headers)

/** A device request of `clientId` for `resource`, checked to be granted. */
export async function startDevice(clientId: string, resource = MCP): Promise<DeviceAnswer> {
  const response = await askDevice({ client_id: clientId, resource })
  expect(response.status).toBe(200)
  return (await response.json()) as DeviceAnswer
}

/** One poll of the token endpoint with the device code. */
export const poll = (clientId: string, deviceCode: string, extra: Record<string, string> = {}) =>
  tokenRequest({ grant_type: DEVICE_GRANT, client_id: clientId, device_code: deviceCode, ...extra })

/** The person types a user code on /auth/device. */
export const typeCode = (
  cookie: string,
  userCode: string,
  headers: Record<string, string> = {},
  overrides: Record<string, unknown> = {},
) => browserPost('/auth/device', cookie, { user_code: userCode }, headers, overrides)

/** The person's answer on the device consent page (any decision, to try the wrong ones too). */
export const answerDevice = (
  cookie: string,
  consent: string,
  decision: string,
  headers: Record<string, string> = {},
) => browserPost('/auth/device/consent', cookie, { consent, decision }, headers)
