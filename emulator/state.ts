import { workosId } from './ids.ts'
import { WebhookOutbox } from './webhooks.ts'

// Everything the emulator remembers, in memory, for one run.

export interface EmulatorOptions {
  apiKey: string
  clientId: string
  /** The bearer key the Resend stand-in (POST /emails) accepts. */
  emailApiKey: string
  /** Redirect URIs allowed besides any loopback one; the first is the default. */
  redirectUris: string[]
  /**
   * Whether WorkOS emails Magic Auth codes itself (its default). Off mirrors an environment whose
   * default emails are turned off because the app sends its own (EMAIL_DELIVERY=custom).
   */
  magicAuthEmails?: boolean
  /** The secret webhook deliveries are signed with (WORKOS_WEBHOOK_SECRET on the gateway). */
  webhookSecret?: string
  /** Where to post webhook deliveries (dev); tests read them from GET /__webhooks instead. */
  webhookUrl?: string
}

export const DEFAULT_WEBHOOK_SECRET = 'whsec_emulator_dev_secret'

export interface PasswordlessSession {
  id: string
  email: string
  redirectUri: string
  state: string | undefined
  expiresAt: number
  token: string
  used: boolean
}

export interface AuthorizationCode {
  code: string
  email: string
  expiresAt: number
  used: boolean
}

export interface Profile {
  object: 'profile'
  id: string
  organization_id: null
  connection_id: string
  connection_type: 'MagicLink'
  idp_id: string
  email: string
  first_name: string | null
  last_name: string | null
  name: string | null
  raw_attributes: Record<string, never>
}

export interface MailboxMessage {
  /** Who sent it: WorkOS itself, or the email provider stand-in (EMAIL_DELIVERY=custom). */
  via: 'workos' | 'provider'
  to: string
  subject: string
  link: string | null
  code: string | null
  text: string
  sentAt: string
}

export interface User {
  object: 'user'
  id: string
  email: string
  email_verified: boolean
  first_name: string | null
  last_name: string | null
  name: string | null
  profile_picture_url: string | null
  external_id: string | null
  metadata: Record<string, string>
  locale: string | null
  last_sign_in_at: string | null
  created_at: string
  updated_at: string
}

export interface MagicAuthCode {
  id: string
  userId: string
  email: string
  code: string
  createdAt: number
  expiresAt: number
  used: boolean
  /** Wrong guesses against this code; at MAGIC_AUTH_MAX_ATTEMPTS it is burned. */
  attempts: number
}

export const MAGIC_LINK_DEFAULT_TTL_S = 900
export const MAGIC_AUTH_TTL_MS = 10 * 60 * 1000
// WorkOS does not publish its cap; five wrong guesses is a common choice.
export const MAGIC_AUTH_MAX_ATTEMPTS = 5
// WorkOS's documented Magic Auth send limit: 3 per 60 s per email.
export const MAGIC_AUTH_SENDS_PER_MINUTE = 3
export const SSO_CODE_TTL_MS = 10 * 60 * 1000
export const ACCESS_TOKEN_TTL_S = 600

export class EmulatorState {
  readonly options: EmulatorOptions
  readonly sessions = new Map<string, PasswordlessSession>()
  readonly sessionsByToken = new Map<string, PasswordlessSession>()
  readonly codes = new Map<string, AuthorizationCode>()
  readonly accessTokens = new Map<string, { email: string; expiresAt: number }>()
  readonly profiles = new Map<string, Profile>()
  readonly connections = new Map<string, string>()
  readonly users = new Map<string, User>()
  readonly magicAuths = new Map<string, MagicAuthCode>()
  readonly magicAuthSends = new Map<string, number[]>()
  /** Domains whose new users may not sign up (sign_up_not_allowed); set through /__signup-blocked. */
  readonly signUpBlockedDomains = new Set<string>()
  mailbox: MailboxMessage[] = []
  readonly webhooks: WebhookOutbox

  constructor(options: EmulatorOptions) {
    this.options = options
    this.webhooks = new WebhookOutbox(
      options.webhookSecret ?? DEFAULT_WEBHOOK_SECRET,
      options.webhookUrl,
    )
  }

  now(): number {
    return Date.now()
  }

  /** The one profile per address, as WorkOS keeps one Magic Link profile per email. */
  profileFor(email: string): Profile {
    const key = email.toLowerCase()
    let profile = this.profiles.get(key)
    if (!profile) {
      const domain = key.split('@')[1] ?? key
      let connection = this.connections.get(domain)
      if (!connection) {
        connection = workosId('conn')
        this.connections.set(domain, connection)
      }
      profile = {
        object: 'profile',
        id: workosId('prof'),
        organization_id: null,
        connection_id: connection,
        connection_type: 'MagicLink',
        idp_id: email,
        email,
        first_name: null,
        last_name: null,
        name: null,
        raw_attributes: {},
      }
      this.profiles.set(key, profile)
    }
    return profile
  }

  userFor(email: string): User | undefined {
    return this.users.get(email.toLowerCase())
  }

  createUser(email: string): User {
    const now = new Date(this.now()).toISOString()
    const user: User = {
      object: 'user',
      id: workosId('user'),
      email,
      email_verified: false,
      first_name: null,
      last_name: null,
      name: null,
      profile_picture_url: null,
      external_id: null,
      metadata: {},
      locale: null,
      last_sign_in_at: null,
      created_at: now,
      updated_at: now,
    }
    this.users.set(email.toLowerCase(), user)
    return user
  }

  /** True when this email may be sent another code now (sliding 60-second window). */
  takeMagicAuthSend(email: string): boolean {
    const key = email.toLowerCase()
    const recent = (this.magicAuthSends.get(key) ?? []).filter((t) => t > this.now() - 60_000)
    if (recent.length >= MAGIC_AUTH_SENDS_PER_MINUTE) {
      this.magicAuthSends.set(key, recent)
      return false
    }
    recent.push(this.now())
    this.magicAuthSends.set(key, recent)
    return true
  }

  /** Loopback redirect URIs are always allowed, so a changed --port needs no set-up. */
  isAllowedRedirectUri(uri: string): boolean {
    if (this.options.redirectUris.includes(uri)) return true
    try {
      const url = new URL(uri)
      return (
        (url.protocol === 'http:' || url.protocol === 'https:') &&
        (url.hostname === 'localhost' ||
          url.hostname === '[::1]' ||
          /^127(\.\d{1,3}){3}$/.test(url.hostname))
      )
    } catch {
      return false
    }
  }

  deliver(message: Omit<MailboxMessage, 'sentAt'>): void {
    this.mailbox.unshift({ ...message, sentAt: new Date(this.now()).toISOString() })
    // Keep memory bounded through long load runs.
    if (this.mailbox.length > 5000) this.mailbox.length = 5000
  }
}
