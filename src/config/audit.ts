import type { Config } from './types'
import { problemList, type Checked, type Settings } from './settings'

// A WorkOS organization id, as WorkOS prints them: org_ and 26 upper-case letters and digits.
const ORGANIZATION_ID = /^org_[0-9A-Z]{26}$/

/**
 * AUDIT_ORGANIZATION_ID: the WorkOS organization whose audit log receives the events of people
 * who signed in without one (Magic Link, Magic Auth) and of operators. Unset, only SSO sign-ins
 * (which carry their organization) reach WorkOS; the rest go to the log line.
 */
export function checkAudit(e: Settings): Checked<Pick<Config, 'auditOrganizationId'>> {
  const { problems, fail } = problemList()
  const auditOrganizationId = e.AUDIT_ORGANIZATION_ID?.trim() || undefined
  if (auditOrganizationId !== undefined && !ORGANIZATION_ID.test(auditOrganizationId))
    fail('AUDIT_ORGANIZATION_ID', 'must be a WorkOS organization id (org_ and 26 letters/digits)')
  return { value: { auditOrganizationId }, problems }
}
