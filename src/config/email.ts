import type { Config } from './types'
import { DEV_CREDENTIALS } from './dev-mode'
import { httpUrl, problemList, type Checked, type Settings } from './settings'

/** EMAIL_DELIVERY and, when it is `custom`, EMAIL_API_URL, EMAIL_API_KEY and EMAIL_FROM. */
export function checkEmail(
  e: Settings,
  devMode: boolean,
): Checked<Pick<Config, 'emailDelivery' | 'email'>> {
  const { problems, fail } = problemList()

  const emailDelivery = e.EMAIL_DELIVERY ?? 'workos'
  if (emailDelivery !== 'workos' && emailDelivery !== 'custom')
    fail('EMAIL_DELIVERY', 'must be "workos" or "custom"')

  let email: Config['email']
  if (emailDelivery === 'custom') {
    const apiUrl =
      e.EMAIL_API_URL ?? (devMode && e.WORKOS_API_URL ? e.WORKOS_API_URL : 'https://api.resend.com')
    const apiKey = e.EMAIL_API_KEY ?? (devMode ? DEV_CREDENTIALS.emailApiKey : '')
    const from = e.EMAIL_FROM ?? (devMode ? 'Sign-in <sign-in@gateway.localhost>' : '')
    if (!httpUrl.safeParse(apiUrl).success) fail('EMAIL_API_URL', 'must be an http(s) URL')
    if (!apiKey) fail('EMAIL_API_KEY', 'must be set when EMAIL_DELIVERY=custom')
    if (!from || /[\r\n]/.test(from))
      fail('EMAIL_FROM', 'must be set to a sender such as "App <login@example.com>"')
    email = { apiUrl: apiUrl.replace(/\/+$/, ''), apiKey, from }
  }

  return {
    value: { emailDelivery: emailDelivery as Config['emailDelivery'], email },
    problems,
  }
}
