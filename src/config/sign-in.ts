import { entryOf, isSignInMethod } from '../sign-in/methods'
import type { Config } from './types'
import { list, problemList, type Checked, type Settings } from './settings'

/** How people sign in and who may: SIGN_IN_METHODS, ALLOWED_EMAIL_DOMAINS, ALLOWED_EMAILS. */
export function checkSignIn(
  e: Settings,
): Checked<Pick<Config, 'signInMethods' | 'allowedEmailDomains' | 'allowedEmails'>> {
  const { problems, fail } = problemList()

  const signInMethods = list(e.SIGN_IN_METHODS ?? 'code,link,sso').map((m) => m.toLowerCase())
  // The first is the form's main button, for everyone: a method that emails (not SSO, which
  // serves only addresses whose organization has it).
  if (
    signInMethods.length === 0 ||
    !signInMethods.every(isSignInMethod) ||
    new Set(signInMethods).size !== signInMethods.length ||
    entryOf(signInMethods[0]!).emails === undefined
  )
    fail(
      'SIGN_IN_METHODS',
      'must list "code", "link" and optionally "sso" (not first), e.g. "code,link,sso"',
    )

  const allowedEmailDomains = list(e.ALLOWED_EMAIL_DOMAINS).map((d) => d.toLowerCase())
  if (allowedEmailDomains.some((d) => !/^(\*\.)?[a-z0-9.-]+\.[a-z]{2,}$/.test(d)))
    fail(
      'ALLOWED_EMAIL_DOMAINS',
      'must be a comma list of domains, e.g. "example.com,*.example.org"',
    )
  const allowedEmails = list(e.ALLOWED_EMAILS).map((a) => a.toLowerCase())
  if (allowedEmails.some((a) => !/^[^@\s]+@[^@\s]+$/.test(a)))
    fail('ALLOWED_EMAILS', 'must be a comma list of email addresses')

  return {
    value: {
      signInMethods: Object.freeze(signInMethods.filter(isSignInMethod)),
      allowedEmailDomains: Object.freeze(allowedEmailDomains),
      allowedEmails: Object.freeze(allowedEmails),
    },
    problems,
  }
}
