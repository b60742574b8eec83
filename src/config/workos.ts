import type { Config } from './types'
import { DEV_CREDENTIALS } from './dev-mode'
import { httpUrl, problemList, wholeNumberFrom, type Checked, type Settings } from './settings'

type WorkosConfig = Pick<
  Config,
  'workosApiKey' | 'workosClientId' | 'workosApi' | 'workosTimeoutMs' | 'webhookSecret'
>

/** WORKOS_API_KEY, WORKOS_CLIENT_ID, WORKOS_API_URL, WORKOS_TIMEOUT_MS, WORKOS_WEBHOOK_SECRET. */
export function checkWorkos(e: Settings, devMode: boolean): Checked<WorkosConfig> {
  const { problems, fail } = problemList()

  const workosApiKey = e.WORKOS_API_KEY ?? (devMode ? DEV_CREDENTIALS.apiKey : '')
  if (!/^sk_(test|live)_[A-Za-z0-9_]+$/.test(workosApiKey))
    fail('WORKOS_API_KEY', 'must be set to an sk_test_… or sk_live_… key')

  const workosClientId = e.WORKOS_CLIENT_ID ?? (devMode ? DEV_CREDENTIALS.clientId : '')
  if (!/^client_[A-Za-z0-9_]+$/.test(workosClientId))
    fail('WORKOS_CLIENT_ID', 'must be set to a client_… id')

  let workosApi: Config['workosApi']
  if (e.WORKOS_API_URL !== undefined) {
    if (!httpUrl.safeParse(e.WORKOS_API_URL).success) {
      fail('WORKOS_API_URL', 'must be an http(s) URL with no path, e.g. http://127.0.0.1:4100')
    } else {
      const url = new URL(e.WORKOS_API_URL)
      const https = url.protocol === 'https:'
      workosApi = {
        hostname: url.hostname,
        https,
        ...(url.port ? { port: Number(url.port) } : {}),
      }
      if (url.pathname !== '/' || url.search)
        fail('WORKOS_API_URL', 'must not have a path or query (the SDK serves routes at the root)')
    }
  }

  const workosTimeoutMs = Number(e.WORKOS_TIMEOUT_MS ?? 8000)
  if (!wholeNumberFrom(workosTimeoutMs, 200, 30000))
    fail('WORKOS_TIMEOUT_MS', 'must be a whole number of milliseconds from 200 to 30000')

  if (e.WORKOS_WEBHOOK_SECRET !== undefined && e.WORKOS_WEBHOOK_SECRET.length < 16)
    fail('WORKOS_WEBHOOK_SECRET', 'must be the webhook secret from the WorkOS dashboard')

  return {
    value: {
      workosApiKey,
      workosClientId,
      workosApi,
      workosTimeoutMs,
      webhookSecret: e.WORKOS_WEBHOOK_SECRET,
    },
    problems,
  }
}

/** WorkOS's origin for this configuration (the emulator's in dev), for CSP. */
export function workosOrigin(config: Config): string {
  const api = config.workosApi
  if (!api) return 'https://api.workos.com'
  return `${api.https ? 'https' : 'http'}://${api.hostname}${api.port ? `:${api.port}` : ''}`
}
