import type { AppContext } from '../app-env'
import * as z from 'zod/mini'
import { inBackground } from '../background'
import { randomToken } from '../crypto'
import { kvOrFailClosed } from '../kv/fail-closed'
import { oauthClientKey } from '../kv/keys'
import { parseStored } from '../kv/stored-json'
import { log } from '../log'

// The OAuth clients that registered themselves (RFC 7591, src/oauth/register.ts). Every client is
// public (no secret): a command line or an MCP client on someone's machine cannot keep one. A
// registration is not secret either, so it is stored under its client id; it expires when no
// authorization has used it for 30 days.

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
export const GRANT_TYPES = ['authorization_code', 'refresh_token', DEVICE_GRANT] as const
export type GrantType = (typeof GRANT_TYPES)[number]

/** A registered client, as the authorization and token endpoints see it. */
export interface OAuthClient {
  /** `gwc_` + 16 random bytes, base64url. */
  readonly clientId: string
  /**
   * What the client calls itself (trimmed, at most 100 characters, no control characters); ''
   * when it gave none. Its own claim: a page shows it as such, never as a verified name.
   */
  readonly clientName: string
  /** Exactly as registered (each an https: URL or a loopback http: one); none for device-only. */
  readonly redirectUris: readonly string[]
  readonly grantTypes: readonly GrantType[]
  /** Epoch ms. */
  readonly createdAt: number
}

export const CLIENT_TTL_SECONDS = 30 * 24 * 60 * 60
// Each use could renew the TTL; once a day is enough to keep a used client for 30 days, and
// keeps most uses from costing a KV write.
const RENEW_AFTER_MS = 24 * 60 * 60 * 1000

const CLIENT_ID = /^gwc_[A-Za-z0-9_-]{22}$/

const storedClient = z.object({
  v: z.literal(1),
  clientId: z.string(),
  clientName: z.string(),
  redirectUris: z.array(z.string()),
  grantTypes: z.array(z.enum(GRANT_TYPES)),
  createdAt: z.number(),
  /** Epoch ms the TTL was last set from. */
  renewedAt: z.number(),
})
type StoredClient = z.infer<typeof storedClient>

/** What a registration asks for, already checked (src/oauth/register.ts). */
export interface ClientMetadata {
  readonly clientName: string
  readonly redirectUris: readonly string[]
  readonly grantTypes: readonly GrantType[]
}

/** Stores a new client under a fresh id. */
export async function registerClient(
  c: AppContext,
  metadata: ClientMetadata,
): Promise<OAuthClient> {
  const now = Date.now()
  const stored: StoredClient = {
    v: 1,
    clientId: `gwc_${randomToken(16)}`,
    clientName: metadata.clientName,
    redirectUris: [...metadata.redirectUris],
    grantTypes: [...metadata.grantTypes],
    createdAt: now,
    renewedAt: now,
  }
  await write(c.env.SESSIONS, stored)
  return clientOf(stored)
}

/**
 * The client `clientId` names, or null when there is none (never registered, expired, or not
 * shaped like one: no KV read then). A use renews its 30 days, at most once a day, in the
 * background.
 */
export async function readClient(c: AppContext, clientId: string): Promise<OAuthClient | null> {
  if (!CLIENT_ID.test(clientId)) return null
  const kv = c.env.SESSIONS
  const raw = await kvOrFailClosed(() => kv.get(oauthClientKey(clientId), 'text'))
  const stored = parseStored(storedClient, raw)
  if (!stored || stored.clientId !== clientId) return null
  const now = Date.now()
  if (now - stored.renewedAt >= RENEW_AFTER_MS)
    inBackground(
      c,
      write(kv, { ...stored, renewedAt: now }).catch(() =>
        log({ event: 'oauth_client_renew_failed' }),
      ),
    )
  return clientOf(stored)
}

const clientOf = (stored: StoredClient): OAuthClient => ({
  clientId: stored.clientId,
  clientName: stored.clientName,
  redirectUris: stored.redirectUris,
  grantTypes: stored.grantTypes,
  createdAt: stored.createdAt,
})

function write(kv: KVNamespace, stored: StoredClient): Promise<void> {
  return kvOrFailClosed(() =>
    kv.put(oauthClientKey(stored.clientId), JSON.stringify(stored), {
      expirationTtl: CLIENT_TTL_SECONDS,
    }),
  )
}

// RFC 8252 §7.3: a native app listens on whatever loopback port is free when it starts, so the
// port of a loopback redirect URI is not part of the match. `localhost` is taken as loopback too,
// as MCP clients register it.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** An `http:` URL on a loopback host (the exact name: `127.0.0.1.evil.com` is not one). */
export function isLoopbackUrl(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)
}

// Printable ASCII only: the URL parser silently drops tabs and newlines and trims spaces, so a
// URI with them would be registered as one string and followed as another. `\` is read as `/`.
const PLAIN_URI = /^[\x21-\x5b\x5d-\x7e]+$/
export const MAX_REDIRECT_URI_LENGTH = 2000

/** `uri` parsed, when it is a plain `http(s)://` URL without a fragment, user or password. */
function plainHttpUrl(uri: string): URL | undefined {
  if (uri.length > MAX_REDIRECT_URI_LENGTH || !PLAIN_URI.test(uri) || uri.includes('#')) return
  if (!/^https?:\/\//i.test(uri)) return
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return
  }
  return url.username || url.password ? undefined : url
}

/**
 * Whether a client may register `uri` as a redirect URI: an `https:` URL, or an `http:` URL on a
 * loopback host (any port, any path; RFC 8252 §7.3), with no fragment and no user or password.
 * Anything else (another scheme, plain http to another host, `http://127.0.0.1.evil.com`) could
 * send the code somewhere the person's machine does not own.
 */
export function isRegistrableRedirectUri(uri: string): boolean {
  const url = plainHttpUrl(uri)
  return url !== undefined && (url.protocol === 'https:' || isLoopbackUrl(url))
}

/**
 * Whether `redirectUri` is one the client registered: the same string exactly, or, for a
 * loopback URL, the same host, path and query on any port.
 */
export function redirectUriMatches(client: OAuthClient, redirectUri: string): boolean {
  if (client.redirectUris.includes(redirectUri)) return true
  const asked = loopbackParts(redirectUri)
  return asked !== undefined && client.redirectUris.some((uri) => loopbackParts(uri) === asked)
}

/** Everything of a loopback redirect URI but its port; undefined for any other URI. */
function loopbackParts(uri: string): string | undefined {
  const url = plainHttpUrl(uri)
  if (!url || !isLoopbackUrl(url)) return undefined
  return `${url.hostname}${url.pathname}${url.search}`
}
