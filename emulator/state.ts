import { workosId } from './ids.ts'

// Everything the emulator remembers, in memory, for one run.

export interface EmulatorOptions {
  apiKey: string
  clientId: string
  /** The bearer key the Resend stand-in (POST /emails) accepts. */
  emailApiKey: string
  /** Redirect URIs allowed besides any loopback one; the first is the default. */
  redirectUris: string[]
}

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
  to: string
  subject: string
  link: string | null
  code: string | null
  text: string
  sentAt: string
}

export const MAGIC_LINK_DEFAULT_TTL_S = 900
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
  mailbox: MailboxMessage[] = []

  constructor(options: EmulatorOptions) {
    this.options = options
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
