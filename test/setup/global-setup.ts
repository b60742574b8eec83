import type { TestProject } from 'vitest/node'
import { startEmulator } from '../../emulator/server.ts'
import { startDemoOrigin } from '../../scripts/demo-origin.ts'

// Runs in Node before the Workers pool starts: a real emulator and a real origin on free loopback
// ports, handed to the Worker as bindings (vitest.config.mts).

export const TEST_GATEWAY_ORIGIN = 'https://gateway.test'
export const TEST_WEBHOOK_SECRET = 'whsec_test_0123456789abcdef'

export default async function setup(project: TestProject) {
  const emulator = await startEmulator({
    port: 0,
    apiKey: 'sk_test_emulator',
    clientId: 'client_emulator',
    emailApiKey: 're_dev_emulator',
    redirectUris: [`${TEST_GATEWAY_ORIGIN}/auth/callback`],
    webhookSecret: TEST_WEBHOOK_SECRET,
  })
  const origin = await startDemoOrigin(0)
  project.provide('emulatorUrl', emulator.url)
  project.provide('originUrl', origin.url)
  return async () => {
    await Promise.all([emulator.close(), origin.close()])
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    emulatorUrl: string
    originUrl: string
  }
}
