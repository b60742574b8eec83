// `npm run login -- <URL of an application behind the gateway> [--json]`: signs this terminal in
// with the device grant (RFC 8628) and prints an access token for that application, for
// `curl -H "Authorization: Bearer …"`. It finds the gateway from the URL alone (RFC 9728, RFC
// 8414), registers itself (RFC 7591), prints a code to type in a browser where you are signed in,
// and waits for your answer. Human text goes to stderr, the token (or, with --json, the whole
// token answer) to stdout.
//
// Exit codes: 0 the token was printed; 1 denied or expired; 2 usage, discovery or any other error.
import * as oauth from 'oauth4webapi'

const USAGE = `Usage: npm run login -- <URL of an application behind the gateway> [--json]

  Prints an access token for that application once you approve this terminal in a browser.
  --json   print the whole token answer (access and refresh token, expiry) instead of the token

Example:
  npm run login -- https://gw.example.com/api
  curl -H "Authorization: Bearer $(npm run -s login -- https://gw.example.com/api)" \\
    https://gw.example.com/api/whoami`

const CLIENT_NAME = 'workos-edge-gateway CLI'
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
// RFC 8628 §3.5: each slow_down adds 5 seconds to the interval, for this and every later poll.
const SLOW_DOWN_STEP_SECONDS = 5

/** Exit 2: the command line is wrong (the usage is shown). */
class UsageError extends Error {}
/** Exit 2: the URL does not lead to a gateway that offers the device grant. */
class DiscoveryError extends Error {}
/** Exit 1: the person declined, the application refused them, or the code expired. */
class NotApproved extends Error {}

interface Options {
  url: URL
  json: boolean
}

function parseArguments(args: string[]): Options {
  const json = args.includes('--json')
  const rest = args.filter((arg) => arg !== '--json')
  if (rest.includes('--help') || rest.includes('-h')) {
    console.error(USAGE)
    process.exit(0)
  }
  const unknown = rest.find((arg) => arg.startsWith('-'))
  if (unknown) throw new UsageError(`Unknown option ${unknown}.`)
  if (rest.length !== 1) throw new UsageError('Give one URL: the application to sign in to.')
  let url: URL
  try {
    url = new URL(rest[0]!)
  } catch {
    throw new UsageError(`${rest[0]} is not a URL.`)
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url))
    throw new UsageError('The URL must be https: (or http: on localhost, 127.0.0.1 or [::1]).')
  return { url, json }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])
const isLoopbackHttp = (url: URL) => url.protocol === 'http:' && LOOPBACK.has(url.hostname)

/**
 * oauth4webapi speaks https: only. Plain http is allowed for a URL on this machine (`npm run
 * dev`), and only there: a token never crosses a network in clear.
 */
const over = (url: string | URL) =>
  isLoopbackHttp(new URL(url)) ? { [oauth.allowInsecureRequests]: true } : {}

interface ProtectedResource {
  resource: string
  authorization_servers: string[]
}

/**
 * The application's resource metadata (RFC 9728): where the 401 of an unauthenticated request
 * says it is (`WWW-Authenticate: Bearer resource_metadata="…"`), else at the well-known path
 * inserted before the URL's path. It must name a resource that contains the URL.
 */
async function discoverResource(url: URL): Promise<ProtectedResource> {
  const challenged = await fetch(url, {
    headers: { accept: 'application/json' },
    redirect: 'manual',
  }).catch((error: unknown) => {
    throw new DiscoveryError(`Cannot reach ${url.origin}: ${String(error)}`)
  })
  await challenged.body?.cancel()
  const named = /resource_metadata="([^"]+)"/.exec(challenged.headers.get('www-authenticate') ?? '')
  const metadataUrl = named
    ? new URL(named[1]!, url)
    : new URL(`/.well-known/oauth-protected-resource${url.pathname.replace(/\/$/, '')}`, url)
  // A challenge may only point at its own origin's metadata.
  if (metadataUrl.origin !== url.origin)
    throw new DiscoveryError(`${url.origin} points at metadata on another origin.`)
  const response = await fetch(metadataUrl, { headers: { accept: 'application/json' } })
  if (!response.ok)
    throw new DiscoveryError(
      `${url.href} is not an application behind the gateway that takes tokens (${metadataUrl.href} answered ${response.status}).`,
    )
  const metadata = (await response.json()) as Partial<ProtectedResource>
  const servers = metadata.authorization_servers
  if (typeof metadata.resource !== 'string' || !Array.isArray(servers) || !servers[0])
    throw new DiscoveryError(`${metadataUrl.href} is not protected resource metadata.`)
  const resource = new URL(metadata.resource)
  const base = resource.pathname.endsWith('/') ? resource.pathname : `${resource.pathname}/`
  if (
    resource.origin !== url.origin ||
    !(url.pathname === resource.pathname || url.pathname.startsWith(base))
  )
    throw new DiscoveryError(
      `${metadataUrl.href} names ${metadata.resource}, which is not ${url.href}.`,
    )
  return { resource: metadata.resource, authorization_servers: servers }
}

/** The authorization server's metadata (RFC 8414), with the endpoints this needs. */
async function discoverServer(issuer: URL): Promise<oauth.AuthorizationServer> {
  const server = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { ...over(issuer), algorithm: 'oauth2' }),
  )
  if (!server.device_authorization_endpoint || !server.registration_endpoint)
    throw new DiscoveryError(`${issuer.href} offers no device grant or no registration.`)
  return server
}

/** Registers this command line as a public client of the device grant (RFC 7591). */
async function register(server: oauth.AuthorizationServer): Promise<oauth.Client> {
  const registered = await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(
      server,
      {
        client_name: CLIENT_NAME,
        grant_types: [DEVICE_GRANT, 'refresh_token'],
        token_endpoint_auth_method: 'none',
      },
      over(server.registration_endpoint!),
    ),
  )
  return { client_id: registered.client_id, token_endpoint_auth_method: 'none' }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Asks for a device code, shows the person where to answer, and polls at the interval it was
 * given (5 seconds longer after each slow_down) until they have answered or the code expires.
 */
async function deviceGrant(
  server: oauth.AuthorizationServer,
  client: oauth.Client,
  resource: string,
): Promise<oauth.TokenEndpointResponse> {
  const none = oauth.None()
  const asked = await oauth.processDeviceAuthorizationResponse(
    server,
    client,
    await oauth.deviceAuthorizationRequest(
      server,
      client,
      none,
      { resource },
      over(server.device_authorization_endpoint!),
    ),
  )
  console.error(`To sign in, open ${asked.verification_uri}`)
  console.error(`and enter the code ${asked.user_code}`)
  if (asked.verification_uri_complete)
    console.error(`(or open ${asked.verification_uri_complete} and confirm)`)
  console.error('Waiting for you to approve…')
  const deadline = Date.now() + asked.expires_in * 1000
  let interval = asked.interval ?? 5
  const tokenOptions = { ...over(server.token_endpoint!), additionalParameters: { resource } }
  for (;;) {
    await sleep(interval * 1000)
    if (Date.now() >= deadline) throw new NotApproved('The code expired: run the command again.')
    try {
      return await oauth.processDeviceCodeResponse(
        server,
        client,
        await oauth.deviceCodeGrantRequest(server, client, none, asked.device_code, tokenOptions),
      )
    } catch (error) {
      if (!(error instanceof oauth.ResponseBodyError)) throw error
      if (error.error === 'authorization_pending') continue
      if (error.error === 'slow_down') {
        interval += SLOW_DOWN_STEP_SECONDS
        continue
      }
      if (error.error === 'access_denied')
        throw new NotApproved('Denied: the request was declined, or this account may not use it.')
      if (error.error === 'expired_token')
        throw new NotApproved('The code expired: run the command again.')
      throw error
    }
  }
}

async function main(): Promise<void> {
  const { url, json } = parseArguments(process.argv.slice(2))
  const { resource, authorization_servers } = await discoverResource(url)
  const server = await discoverServer(new URL(authorization_servers[0]!))
  const client = await register(server)
  const tokens = await deviceGrant(server, client, resource)
  console.error(`Signed in. Access token for ${resource} (expires in ${tokens.expires_in} s):`)
  process.stdout.write(json ? `${JSON.stringify(tokens)}\n` : `${tokens.access_token}\n`)
}

main().catch((error: unknown) => {
  if (error instanceof NotApproved) {
    console.error(error.message)
    process.exitCode = 1
    return
  }
  if (error instanceof UsageError) console.error(`${error.message}\n\n${USAGE}`)
  else if (error instanceof oauth.ResponseBodyError)
    console.error(`The gateway refused: ${error.error} (${error.error_description ?? ''})`)
  else console.error(`Could not sign in: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 2
})
