import type { Config } from './types'
import { problemList, type Checked, type Settings } from './settings'

/** Credentials the emulator accepts; used only when DEV_MODE=true and nothing else is set. */
export const DEV_CREDENTIALS = {
  apiKey: 'sk_test_emulator',
  clientId: 'client_emulator',
  emailApiKey: 're_dev_emulator',
} as const

/**
 * DEV_MODE. Dev mode signs assertions with a throwaway key, mails through the emulator and serves
 * every code and link at /__dev/mailbox without authentication: never with a live key or a
 * WorkOS that is not on this machine.
 */
export function checkDevMode(
  e: Settings,
  workos: Pick<Config, 'workosApiKey' | 'workosApi'>,
): Checked<Pick<Config, 'devMode'>> {
  const { problems, fail } = problemList()
  const devMode = isDevMode(e)
  if (devMode && /^sk_live_/.test(workos.workosApiKey)) {
    fail('DEV_MODE', 'must not be "true" together with an sk_live_ WORKOS_API_KEY')
    fail('WORKOS_API_KEY', 'must not be an sk_live_ key while DEV_MODE is "true"')
  }
  if (devMode && !(workos.workosApi && isLoopbackHost(workos.workosApi.hostname))) {
    fail('DEV_MODE', 'must not be "true" unless WORKOS_API_URL is the local emulator (loopback)')
    fail(
      'WORKOS_API_URL',
      'must be a loopback address (the local emulator) while DEV_MODE is "true"',
    )
  }
  return { value: { devMode }, problems }
}

export const isDevMode = (e: Settings): boolean => e.DEV_MODE === 'true'

/** localhost, *.localhost, 127.0.0.0/8 and ::1: addresses that never leave this machine. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '')
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  )
}
