// `npm run emulator`: the local WorkOS emulator on EMULATOR_PORT (default 4100).
import { startEmulator } from './server.ts'

const port = Number(process.env.EMULATOR_PORT ?? 4100)
const emulator = await startEmulator({
  port,
  apiKey: process.env.WORKOS_API_KEY ?? 'sk_test_emulator',
  clientId: process.env.WORKOS_CLIENT_ID ?? 'client_emulator',
  emailApiKey: process.env.EMAIL_API_KEY ?? 're_dev_emulator',
  redirectUris: (process.env.EMULATOR_REDIRECT_URIS ?? '')
    .split(',')
    .map((uri) => uri.trim())
    .filter(Boolean),
})
console.log(`WorkOS emulator listening on ${emulator.url}`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void emulator.close().then(() => process.exit(0))
  })
}
