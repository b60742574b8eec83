// The whole SDK, as a WorkOS customer's own code would use it (the gateway's build is slimmed).
import { WorkOS } from '@workos-inc/node/worker'
import { EMULATOR } from './helpers'

const emulatorUrl = new URL(EMULATOR)

/** The official SDK talking to the emulator over HTTP; no retries unless a test counts them. */
export function emulatorSdk(apiKey = 'sk_test_emulator', maxRetries = 0): WorkOS {
  return new WorkOS(apiKey, {
    clientId: 'client_emulator',
    apiHostname: emulatorUrl.hostname,
    port: Number(emulatorUrl.port),
    https: false,
    maxRetries,
  })
}
