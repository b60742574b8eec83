import type { Config } from '../config'

/**
 * True when the (normalised) address may sign in: no lists configured, or it is listed in
 * ALLOWED_EMAILS, or its domain is in ALLOWED_EMAIL_DOMAINS ("*.example.com" also admits
 * subdomains).
 */
export function isEmailAllowed(config: Config, email: string): boolean {
  const { allowedEmailDomains, allowedEmails } = config
  if (allowedEmailDomains.length === 0 && allowedEmails.length === 0) return true
  const address = email.toLowerCase()
  if (allowedEmails.includes(address)) return true
  const domain = address.slice(address.lastIndexOf('@') + 1)
  return allowedEmailDomains.some((entry) =>
    entry.startsWith('*.')
      ? domain.endsWith(entry.slice(1)) || domain === entry.slice(2)
      : domain === entry,
  )
}
