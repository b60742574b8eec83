import type { AppContext } from '../app-env'
import * as z from 'zod/mini'
import { BoundedMap } from '../bounded-cache'
import { ssoDomainKey } from '../kv/keys'
import { readThrough } from '../kv/read-through'
import { log } from '../log'
import { withDeadline, workosClient } from '../workos'
import { domainOfAddress } from './organization-domains'

// Which WorkOS organization, if any, signs in people of an email domain with SSO: a verified
// domain of the organization and an active connection. Asked of WorkOS at most once per domain
// per LOOKUP_TTL (in KV for every isolate, in memory for this one), negative answers too, so an
// ordinary code or link sign-in pays no WorkOS round trip for it most of the time.

export const SSO_LOOKUP_SECONDS = 300

const cachedAnswer = z.object({ organizationId: z.nullable(z.string()) })
const remembered = new BoundedMap<string, { organizationId: string | null; until: number }>(5_000)

/** The organization to send this address to for SSO, or null when its domain has none. */
export async function ssoOrganizationFor(c: AppContext, email: string): Promise<string | null> {
  const domain = domainOfAddress(email)
  const now = Date.now()
  const local = remembered.get(domain)
  if (local && local.until > now) return local.organizationId

  const { organizationId } = await readThrough(
    c.env.SESSIONS,
    ssoDomainKey(domain),
    cachedAnswer,
    SSO_LOOKUP_SECONDS,
    async () => ({ organizationId: await askWorkos(c, domain) }),
  )
  remembered.set(domain, { organizationId, until: now + SSO_LOOKUP_SECONDS * 1000 })
  return organizationId
}

/** Forgets what this isolate remembered (tests that change organizations between requests). */
export const forgetSsoLookups = () => remembered.clear()

async function askWorkos(c: AppContext, domain: string): Promise<string | null> {
  const config = c.get('config')
  const workos = workosClient(config)
  const organizations = await withDeadline(
    config,
    workos.organizations.listOrganizations({ domains: [domain] }),
  )
  // Any organization naming the domain is listed; only a verified domain counts.
  const candidates = organizations.data.filter((organization) =>
    organization.domains.some((d) => d.domain.toLowerCase() === domain && d.state === 'verified'),
  )
  for (const organization of candidates) {
    const connections = await withDeadline(
      config,
      workos.sso.listConnections({ organizationId: organization.id }),
    )
    if (connections.data.some((connection) => connection.state === 'active')) {
      log({ event: 'sso_domain_found' })
      return organization.id
    }
  }
  return null
}
