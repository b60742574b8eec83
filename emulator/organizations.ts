import { opaqueToken, workosId } from './ids.ts'

// Organizations, their SSO connections, memberships and directory (SCIM) records, and the JSON
// WorkOS answers for each. Every shape is checked against the SDK's deserializers and response
// interfaces (@workos-inc/node 11: organization.serializer.ts, connection.serializer.ts,
// organization-membership.serializer.ts, directory-user.serializer.ts, event.interface.ts).

export type DomainState = 'verified' | 'pending' | 'failed'
export type ConnectionState = 'draft' | 'active' | 'inactive' | 'validating'
export type MembershipStatus = 'active' | 'inactive' | 'pending'

export interface OrganizationDomain {
  id: string
  domain: string
  state: DomainState
}

export interface Organization {
  id: string
  name: string
  domains: OrganizationDomain[]
  /**
   * WorkOS's `allow_profiles_outside_organization`: its connections may sign in profiles whose
   * email is at none of its verified domains (off by default, as in WorkOS). On, the IdP page
   * takes any address: a tenant's IdP asserting someone else's.
   */
  allowProfilesOutsideOrganization: boolean
  createdAt: number
  updatedAt: number
}

export interface Connection {
  id: string
  organizationId: string
  name: string
  /** A value of the SDK's ConnectionType enum: GenericSAML, OktaSAML, GenericOIDC, … */
  connectionType: string
  state: ConnectionState
  createdAt: number
  updatedAt: number
}

export interface Membership {
  id: string
  userId: string
  organizationId: string
  status: MembershipStatus
  roles: string[]
  createdAt: number
  updatedAt: number
}

export interface DirectoryUser {
  id: string
  idpId: string
  directoryId: string
  organizationId: string
  email: string
  firstName: string | null
  lastName: string | null
  role: string
  state: 'active' | 'inactive'
  createdAt: number
  updatedAt: number
}

export interface DirectoryGroup {
  id: string
  idpId: string
  directoryId: string
  organizationId: string
  name: string
  createdAt: number
  updatedAt: number
}

const iso = (ms: number) => new Date(ms).toISOString()

export const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1).toLowerCase()

export function newOrganization(
  input: {
    id?: string
    name: string
    domains: { domain: string; state: DomainState }[]
    allowProfilesOutsideOrganization?: boolean
  },
  now: number,
): Organization {
  return {
    id: input.id ?? workosId('org'),
    name: input.name,
    allowProfilesOutsideOrganization: input.allowProfilesOutsideOrganization ?? false,
    domains: input.domains.map(({ domain, state }) => ({
      id: workosId('org_domain'),
      domain: domain.toLowerCase(),
      state,
    })),
    createdAt: now,
    updatedAt: now,
  }
}

export function newConnection(
  organization: Organization,
  input: { id?: string; connectionType?: string },
  now: number,
): Connection {
  return {
    id: input.id ?? workosId('conn'),
    organizationId: organization.id,
    name: organization.name,
    connectionType: input.connectionType ?? 'GenericSAML',
    state: 'active',
    createdAt: now,
    updatedAt: now,
  }
}

export function newDirectoryUser(
  directoryId: string,
  organizationId: string,
  person: { email: string; firstName: string | null; lastName: string | null; role: string },
  now: number,
): DirectoryUser {
  return {
    id: workosId('directory_user'),
    idpId: opaqueToken(9),
    directoryId,
    organizationId,
    ...person,
    state: 'active',
    createdAt: now,
    updatedAt: now,
  }
}

export function newDirectoryGroup(
  directoryId: string,
  organizationId: string,
  name: string,
  now: number,
): DirectoryGroup {
  return {
    id: workosId('directory_group'),
    idpId: opaqueToken(9),
    directoryId,
    organizationId,
    name,
    createdAt: now,
    updatedAt: now,
  }
}

/** OrganizationResponse: `domains` is always an array (the SDK maps over it). */
export function organizationJson(organization: Organization) {
  return {
    object: 'organization' as const,
    id: organization.id,
    name: organization.name,
    allow_profiles_outside_organization: organization.allowProfilesOutsideOrganization,
    domains: organization.domains.map((domain) => ({
      object: 'organization_domain' as const,
      id: domain.id,
      domain: domain.domain,
      organization_id: organization.id,
      state: domain.state,
      verification_strategy: 'manual' as const,
      created_at: iso(organization.createdAt),
      updated_at: iso(organization.updatedAt),
    })),
    created_at: iso(organization.createdAt),
    updated_at: iso(organization.updatedAt),
    external_id: null,
    metadata: {},
  }
}

/** ConnectionResponse; its domains are the organization's verified ones. */
export function connectionJson(connection: Connection, organization: Organization | undefined) {
  return {
    object: 'connection' as const,
    id: connection.id,
    organization_id: connection.organizationId,
    name: connection.name,
    connection_type: connection.connectionType,
    state: connection.state,
    domains: (organization?.domains ?? [])
      .filter((domain) => domain.state === 'verified')
      .map((domain) => ({
        object: 'connection_domain' as const,
        id: domain.id.replace(/^org_domain_/, 'conn_domain_'),
        domain: domain.domain,
      })),
    created_at: iso(connection.createdAt),
    updated_at: iso(connection.updatedAt),
  }
}

/** OrganizationMembershipResponse: `role` is the first of `roles`, each `{slug}`. */
export function membershipJson(membership: Membership, organization: Organization | undefined) {
  const [role = 'member'] = membership.roles
  return {
    object: 'organization_membership' as const,
    id: membership.id,
    user_id: membership.userId,
    organization_id: membership.organizationId,
    organization_name: organization?.name ?? '',
    status: membership.status,
    role: { slug: role },
    roles: membership.roles.map((slug) => ({ slug })),
    directory_managed: false,
    custom_attributes: {},
    created_at: iso(membership.createdAt),
    updated_at: iso(membership.updatedAt),
  }
}

/**
 * DirectoryUserResponse. SDK 11 reads `email`; WorkOS's payloads have also long carried the
 * older `emails: [{primary, type, value}]`, kept here for handlers written against it.
 */
export function directoryUserJson(user: DirectoryUser) {
  return {
    object: 'directory_user' as const,
    id: user.id,
    idp_id: user.idpId,
    directory_id: user.directoryId,
    organization_id: user.organizationId,
    email: user.email,
    emails: [{ primary: true, type: 'work', value: user.email }],
    first_name: user.firstName,
    last_name: user.lastName,
    state: user.state,
    role: { slug: user.role },
    roles: [{ slug: user.role }],
    custom_attributes: {},
    raw_attributes: {},
    created_at: iso(user.createdAt),
    updated_at: iso(user.updatedAt),
  }
}

/** DirectoryGroupResponse. */
export function directoryGroupJson(group: DirectoryGroup) {
  return {
    object: 'directory_group' as const,
    id: group.id,
    idp_id: group.idpId,
    directory_id: group.directoryId,
    organization_id: group.organizationId,
    name: group.name,
    raw_attributes: {},
    created_at: iso(group.createdAt),
    updated_at: iso(group.updatedAt),
  }
}
