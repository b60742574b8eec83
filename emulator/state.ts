import { workosId } from './ids.ts'
import {
  newConnection,
  newDirectoryGroup,
  newDirectoryUser,
  newOrganization,
  domainOf,
  type Connection,
  type DirectoryGroup,
  type DirectoryUser,
  type DomainState,
  type Membership,
  type Organization,
} from './organizations.ts'
import { WebhookOutbox } from './webhooks.ts'
import { AuditLogStore } from './audit-log.ts'

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
  /** Organizations to create at start (`npm run dev` seeds "Acme"), as POST /__organizations takes. */
  organizations?: OrganizationInput[]
}

/** What POST /__organizations takes (and EmulatorOptions.organizations). */
export interface OrganizationInput {
  id?: string
  name: string
  domains: (string | { domain: string; state: DomainState })[]
  /** Whether it gets an active SSO connection (default true). */
  sso?: boolean
  /** WorkOS's allow_profiles_outside_organization (default false; kept as is on an update). */
  allowProfilesOutsideOrganization?: boolean
  connectionId?: string
  connectionType?: string
}

export type PutOrganizationResult =
  | { organization: Organization; connection: Connection | undefined; created: boolean }
  | { conflict: string }

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
  /** Which exchange takes it: /sso/token (SSO API, Magic Link) or /user_management/authenticate. */
  api: 'sso' | 'user_management'
  /** Set for a code the emulated IdP issued (absent: a Magic Link code). */
  sso?: SsoSignIn
  /** PKCE S256 challenge the authorize request carried; the exchange must then send the verifier. */
  codeChallenge?: string
}

/** What the person typed on the emulated IdP page, bound to the connection it ran for. */
export interface SsoSignIn {
  organizationId: string
  connectionId: string
  email: string
  firstName: string | null
  lastName: string | null
  role: string
  groups: string[]
}

/** An authorize request waiting on the IdP page (its id is the page's opaque path segment). */
export interface SsoRequest {
  id: string
  api: 'sso' | 'user_management'
  redirectUri: string
  state: string | undefined
  loginHint: string | undefined
  codeChallenge: string | undefined
  organizationId: string
  connectionId: string
  expiresAt: number
  answered: boolean
}

export interface MfaFactor {
  id: string
  issuer: string
  user: string
  secret: string
  uri: string
  qrCode: string
  createdAt: number
}

export interface MfaChallenge {
  id: string
  factorId: string
  createdAt: number
  updatedAt: number
  expiresAt: number
  verified: boolean
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
/** How long the IdP page of one authorize request stays usable. */
export const SSO_REQUEST_TTL_MS = 10 * 60 * 1000
/** WorkOS does not publish a TOTP challenge's lifetime; ten minutes leaves room to open an app. */
export const MFA_CHALLENGE_TTL_MS = 10 * 60 * 1000

export class EmulatorState {
  readonly options: EmulatorOptions
  readonly sessions = new Map<string, PasswordlessSession>()
  readonly sessionsByToken = new Map<string, PasswordlessSession>()
  readonly codes = new Map<string, AuthorizationCode>()
  readonly accessTokens = new Map<
    string,
    { email: string; expiresAt: number; ssoProfile?: Record<string, unknown> }
  >()
  readonly profiles = new Map<string, Profile>()
  /** Magic Link's one connection per email domain. */
  readonly magicLinkConnections = new Map<string, string>()
  readonly organizations = new Map<string, Organization>()
  readonly connections = new Map<string, Connection>()
  /** Keyed `<organization id> <lowercased email>`. */
  readonly memberships = new Map<string, Membership>()
  /** SSO profile ids, keyed `<connection id> <lowercased email>`: stable per person and connection. */
  readonly ssoProfileIds = new Map<string, { id: string; idpId: string }>()
  readonly ssoRequests = new Map<string, SsoRequest>()
  /** The last IdP-page sign-in per `<organization id> <email>`, for directory records' names. */
  readonly lastSsoSignIn = new Map<string, SsoSignIn>()
  /** One directory per organization, created on first use; users by `<dir> <email>`, groups by `<dir> <name>`. */
  readonly directories = new Map<string, string>()
  readonly directoryUsers = new Map<string, DirectoryUser>()
  readonly directoryGroups = new Map<string, DirectoryGroup>()
  readonly factors = new Map<string, MfaFactor>()
  readonly challenges = new Map<string, MfaChallenge>()
  readonly users = new Map<string, User>()
  readonly magicAuths = new Map<string, MagicAuthCode>()
  readonly magicAuthSends = new Map<string, number[]>()
  /** Domains whose new users may not sign up (sign_up_not_allowed); set through /__signup-blocked. */
  readonly signUpBlockedDomains = new Set<string>()
  mailbox: MailboxMessage[] = []
  /** What POST /audit_logs/events accepted, and its idempotency keys. */
  readonly auditLogs = new AuditLogStore()
  readonly webhooks: WebhookOutbox

  constructor(options: EmulatorOptions) {
    this.options = options
    this.webhooks = new WebhookOutbox(
      options.webhookSecret ?? DEFAULT_WEBHOOK_SECRET,
      options.webhookUrl,
    )
    for (const organization of options.organizations ?? []) {
      const result = this.putOrganization(organization)
      if ('conflict' in result) throw new Error(result.conflict)
    }
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
      let connection = this.magicLinkConnections.get(domain)
      if (!connection) {
        connection = workosId('conn')
        this.magicLinkConnections.set(domain, connection)
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
          url.hostname.endsWith('.localhost') ||
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

  /**
   * Creates an organization, or updates the one with the given id (so a test file or a restarted
   * dev script can post the same organization again). A verified domain belongs to one
   * organization at a time, as in WorkOS.
   */
  putOrganization(input: OrganizationInput): PutOrganizationResult {
    const domains = input.domains.map((entry) =>
      typeof entry === 'string'
        ? { domain: entry.toLowerCase(), state: 'verified' as const }
        : { domain: entry.domain.toLowerCase(), state: entry.state },
    )
    for (const { domain, state } of domains) {
      const holder = state === 'verified' ? this.organizationForDomain(domain) : undefined
      if (holder && holder.id !== input.id)
        return { conflict: `The domain '${domain}' is already verified for ${holder.id}.` }
    }
    const now = this.now()
    let organization = input.id ? this.organizations.get(input.id) : undefined
    const created = !organization
    if (organization) {
      organization.name = input.name
      organization.domains = newOrganization({ name: input.name, domains }, now).domains
      if (input.allowProfilesOutsideOrganization !== undefined)
        organization.allowProfilesOutsideOrganization = input.allowProfilesOutsideOrganization
      organization.updatedAt = now
    } else {
      organization = newOrganization(
        {
          id: input.id,
          name: input.name,
          domains,
          allowProfilesOutsideOrganization: input.allowProfilesOutsideOrganization,
        },
        now,
      )
      this.organizations.set(organization.id, organization)
    }
    let connection = this.activeConnectionOf(organization.id)
    if (input.sso !== false && !connection) {
      connection = newConnection(
        organization,
        { id: input.connectionId, connectionType: input.connectionType },
        now,
      )
      this.connections.set(connection.id, connection)
    }
    return { organization, connection, created }
  }

  /** The organization holding `domain` as a verified domain. */
  organizationForDomain(domain: string): Organization | undefined {
    const wanted = domain.toLowerCase()
    for (const organization of this.organizations.values()) {
      if (organization.domains.some((d) => d.domain === wanted && d.state === 'verified'))
        return organization
    }
    return undefined
  }

  activeConnectionOf(organizationId: string): Connection | undefined {
    for (const connection of this.connections.values()) {
      if (connection.organizationId === organizationId && connection.state === 'active')
        return connection
    }
    return undefined
  }

  /** Whether `email` is at one of the organization's verified domains. */
  isOrganizationEmail(organization: Organization, email: string): boolean {
    const domain = domainOf(email)
    return organization.domains.some((d) => d.domain === domain && d.state === 'verified')
  }

  membershipOf(organizationId: string, email: string): Membership | undefined {
    return this.memberships.get(`${organizationId} ${email.toLowerCase()}`)
  }

  /** Creates or updates the membership of `email` (creating the user) with these roles. */
  putMembership(
    organizationId: string,
    email: string,
    roles: string[],
  ): { membership: Membership; created: boolean } {
    const user = this.userFor(email) ?? this.createUser(email)
    const key = `${organizationId} ${email.toLowerCase()}`
    const now = this.now()
    const existing = this.memberships.get(key)
    if (existing) {
      existing.roles = roles
      existing.status = 'active'
      existing.updatedAt = now
      return { membership: existing, created: false }
    }
    const membership: Membership = {
      id: workosId('om'),
      userId: user.id,
      organizationId,
      status: 'active',
      roles,
      createdAt: now,
      updatedAt: now,
    }
    this.memberships.set(key, membership)
    return { membership, created: true }
  }

  removeMembership(organizationId: string, email: string): Membership | undefined {
    const key = `${organizationId} ${email.toLowerCase()}`
    const membership = this.memberships.get(key)
    this.memberships.delete(key)
    return membership
  }

  directoryOf(organizationId: string): string {
    let directory = this.directories.get(organizationId)
    if (!directory) {
      directory = workosId('directory')
      this.directories.set(organizationId, directory)
    }
    return directory
  }

  /** The directory user for `email` in the organization's directory, created on first use. */
  directoryUserFor(organizationId: string, email: string): DirectoryUser {
    const directoryId = this.directoryOf(organizationId)
    const key = `${directoryId} ${email.toLowerCase()}`
    let user = this.directoryUsers.get(key)
    if (!user) {
      const profile = this.lastSsoSignIn.get(`${organizationId} ${email.toLowerCase()}`)
      user = newDirectoryUser(
        directoryId,
        organizationId,
        {
          email,
          firstName: profile?.firstName ?? null,
          lastName: profile?.lastName ?? null,
          role: this.membershipOf(organizationId, email)?.roles[0] ?? 'member',
        },
        this.now(),
      )
      this.directoryUsers.set(key, user)
    }
    return user
  }

  directoryGroupFor(organizationId: string, name: string): DirectoryGroup {
    const directoryId = this.directoryOf(organizationId)
    const key = `${directoryId} ${name}`
    let group = this.directoryGroups.get(key)
    if (!group) {
      group = newDirectoryGroup(directoryId, organizationId, name, this.now())
      this.directoryGroups.set(key, group)
    }
    return group
  }
}
