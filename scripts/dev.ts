// `npm run dev [-- wrangler dev flags]`: the gateway on http://localhost:3000 in front of a demo
// origin, signing in against the local WorkOS emulator, all offline. Flags after `--` go to
// `wrangler dev` untouched (--port, --ip, --var ORIGIN_URL:http://127.0.0.1:9000, ...).
//
// With WORKOS_API_KEY in .dev.vars, the emulator stays off and the gateway talks to real WorkOS
// (DEV_MODE is then off too, so /__dev/* answers 404).
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { redact } from './redact.ts'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startEmulator, type RunningEmulator } from '../emulator/server.ts'
import { DEFAULT_WEBHOOK_SECRET } from '../emulator/state.ts'
import { startDemoOrigin, type RunningOrigin } from './demo-origin.ts'

const DEV_SESSION_SECRET = 'dev-only-session-secret-do-not-use-in-production'
const passedArgs = process.argv.slice(2)

function devVars(): Map<string, string> {
  const vars = new Map<string, string>()
  if (!existsSync('.dev.vars')) return vars
  for (const line of readFileSync('.dev.vars', 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line)
    if (match) vars.set(match[1]!, match[2]!.replace(/^"(.*)"$/, '$1'))
  }
  return vars
}

/** Names set with --var on the command line (`--var A:1 B:2`, `--var=A:1`). */
function passedVarNames(args: string[]): Set<string> {
  const names = new Set<string>()
  let inVar = false
  for (const arg of args) {
    if (arg.startsWith('--var=')) {
      names.add(arg.slice(6).split(':', 1)[0]!)
      inVar = false
    } else if (arg === '--var') inVar = true
    else if (arg.startsWith('-')) inVar = false
    else if (inVar) names.add(arg.split(':', 1)[0]!)
  }
  return names
}

/** The value of a wrangler flag passed through (`--port 8787` or `--port=8787`). */
function passedFlag(name: string): string | undefined {
  for (let i = 0; i < passedArgs.length; i++) {
    const arg = passedArgs[i]!
    if (arg === `--${name}`) return passedArgs[i + 1]
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3)
  }
  return undefined
}
const gatewayPort = () => passedFlag('port') ?? '3000'
const gatewayHost = () => {
  const ip = passedFlag('ip')
  return !ip || ip === '0.0.0.0' || ip === '*' ? 'localhost' : ip.includes(':') ? `[${ip}]` : ip
}

const fileVars = devVars()
const cliVars = passedVarNames(passedArgs)
const isSet = (name: string) => fileVars.has(name) || cliVars.has(name)
const customDelivery =
  fileVars.get('EMAIL_DELIVERY') === 'custom' ||
  passedArgs.some((arg) => /(^|=)EMAIL_DELIVERY:custom$/.test(arg))
const vars: string[] = []
const DEV_AUDIT_ORGANIZATION_ID = 'org_01DEVAUD1T0000000000000000'

let emulator: RunningEmulator | undefined
let origin: RunningOrigin | undefined

if (!isSet('WORKOS_API_KEY')) {
  const port = Number(process.env.EMULATOR_PORT ?? 4100)
  emulator = await startEmulator({
    port,
    apiKey: 'sk_test_emulator',
    clientId: 'client_emulator',
    emailApiKey: 're_dev_emulator',
    redirectUris: [],
    // With custom delivery the gateway mails codes itself; WorkOS's own email would be a second.
    magicAuthEmails: !customDelivery,
    webhookSecret: DEFAULT_WEBHOOK_SECRET,
    webhookUrl: `http://${gatewayHost()}:${gatewayPort()}/auth/webhooks/workos`,
    // One enterprise customer, so `someone@acme.test` shows the whole SSO flow offline. Fixed ids,
    // so an ACCESS policy can name the organization.
    organizations: [
      {
        id: 'org_01ACME00000000000000000000',
        name: 'Acme',
        domains: ['acme.test'],
        sso: true,
        connectionId: 'conn_01ACME00000000000000000000',
      },
      // Where the audit events of people without an organization of their own are filed
      // (AUDIT_ORGANIZATION_ID below); /__dev/audit shows what reached the emulator.
      { id: DEV_AUDIT_ORGANIZATION_ID, name: 'This gateway', domains: [], sso: false },
    ],
  })
  vars.push(`DEV_MODE:true`, `WORKOS_API_URL:${emulator.url}`)
  if (!isSet('AUDIT_ORGANIZATION_ID'))
    vars.push(`AUDIT_ORGANIZATION_ID:${DEV_AUDIT_ORGANIZATION_ID}`)
  if (!isSet('WORKOS_WEBHOOK_SECRET')) vars.push(`WORKOS_WEBHOOK_SECRET:${DEFAULT_WEBHOOK_SECRET}`)
  console.log(`WorkOS emulator on ${emulator.url} (dev mailbox: /__dev/mailbox)`)
  console.log(
    'Emulator organization "Acme" (org_01ACME00000000000000000000): any @acme.test address signs in through SSO at the emulated IdP',
  )
} else {
  console.log('WORKOS_API_KEY found in .dev.vars: using real WorkOS, no emulator.')
  // Outside dev mode the gateway needs its public origin (links must not follow the Host header).
  if (!isSet('PUBLIC_URL')) vars.push(`PUBLIC_URL:http://localhost:${gatewayPort()}`)
}
if (!isSet('SESSION_SECRET')) vars.push(`SESSION_SECRET:${DEV_SESSION_SECRET}`)
if (!isSet('ORIGIN_URL')) {
  origin = await startDemoOrigin(Number(process.env.DEMO_ORIGIN_PORT ?? 4200))
  vars.push(`ORIGIN_URL:${origin.url}`)
  console.log(`Demo origin on ${origin.url}`)
}

// The project's own wrangler, on the Node that runs this script (npm gives us its Node 22).
const wranglerBin = fileURLToPath(
  new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url),
)
const wrangler = spawn(
  process.execPath,
  [
    wranglerBin,
    'dev',
    // GET /__scheduled fires the Cron Trigger by hand (README "Revocation").
    '--test-scheduled',
    ...(vars.length > 0 ? ['--var', ...vars] : []),
    ...passedArgs,
  ],
  {
    // Output is piped through `redact` (below); stdin stays the terminal's for wrangler's keys.
    stdio: ['inherit', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // Keep wrangler off the network (README "Two commands"): telemetry, update check, request.cf.
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_HIDE_BANNER: 'true',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    },
  },
)

for (const [stream, out] of [
  [wrangler.stdout, process.stdout],
  [wrangler.stderr, process.stderr],
] as const) {
  createInterface({ input: stream! }).on('line', (line) => out.write(`${redact(line)}\n`))
}

let stopping = false
async function stop(code: number) {
  if (stopping) return
  stopping = true
  await Promise.all([emulator?.close(), origin?.close()])
  process.exit(code)
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (wrangler.exitCode === null) wrangler.kill(signal)
    // wrangler exits, and the 'exit' handler below closes the rest.
    setTimeout(() => void stop(130), 10_000).unref()
  })
}
wrangler.on('exit', (code) => void stop(code ?? 0))
wrangler.on('error', (error) => {
  console.error(`could not start wrangler: ${error.message}`)
  void stop(1)
})
