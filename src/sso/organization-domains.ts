import type { AppContext } from '../app-env'
// Namespace import: `{ z }` defeats tree-shaking and pulls every zod locale into the bundle.
import * as z from 'zod/mini'
import { WorkosUnavailableError } from '../errors'
import { ssoOrganizationDomainsKey } from '../kv/keys'
import { readThrough } from '../kv/read-through'
import { loggedWorkosFailure, withDeadline, workosClient } from '../workos'

// The addresses an organization may speak for: those at its verified domains. A tenant runs its
// own IdP and directory, so what they assert about anyone else's address is not taken: an SSO
// profile must be at one of them (sign-in/sso.ts), and a directory's deletion reaches a
// person's code and link sessions only there (webhooks/directory-events.ts). Asked of WorkOS
// (`organizations.getOrganization`) at most once per organization per ORGANIZATION_DOMAINS_SECONDS,
// kept in KV (STORAGE.md: `sso-org-domains:`).

export const ORGANIZATION_DOMAINS_SECONDS = 300

// A WorkOS organization id becomes part of a KV key name: nothing else is let through.
const ORGANIZATION_ID = /^org_[A-Za-z0-9]{1,64}$/

const cachedAnswer = z.object({ domains: z.array(z.string()) })

export const domainOfAddress = (email: string) =>
  email.slice(email.lastIndexOf('@') + 1).toLowerCase()

/**
 * The organization's verified email domains, lowercased; none for an organization WorkOS does not
 * have. WorkOS out of reach throws WorkosUnavailableError (503, Retry-After): nobody is vouched
 * for on a guess.
 */
export async function verifiedDomainsOf(c: AppContext, organizationId: string): Promise<string[]> {
  if (!ORGANIZATION_ID.test(organizationId)) return []
  const { domains } = await readThrough(
    c.env.SESSIONS,
    ssoOrganizationDomainsKey(organizationId),
    cachedAnswer,
    ORGANIZATION_DOMAINS_SECONDS,
    async () => ({ domains: await askWorkos(c, organizationId) }),
  )
  return domains
}

/** Whether `email` is at one of the organization's verified domains (exactly; no subdomains). */
export async function organizationVouchesFor(
  c: AppContext,
  organizationId: string,
  email: string,
): Promise<boolean> {
  return (await verifiedDomainsOf(c, organizationId)).includes(domainOfAddress(email))
}

async function askWorkos(c: AppContext, organizationId: string): Promise<string[]> {
  const config = c.get('config')
  try {
    const organization = await withDeadline(
      config,
      workosClient(config).organizations.getOrganization(organizationId),
    )
    // A domain the organization added but did not prove (pending, failed) vouches for nobody.
    return organization.domains
      .filter((domain) => domain.state === 'verified')
      .map((domain) => domain.domain.toLowerCase())
  } catch (error) {
    const failure = loggedWorkosFailure('organization_lookup_failed', error)
    // Refused (no such organization, most often): it vouches for nobody, and asking again would
    // not change the answer.
    if (failure.kind === 'rejected') return []
    throw new WorkosUnavailableError(
      failure.kind === 'rate_limited' ? failure.retryAfterSeconds : 5,
    )
  }
}
