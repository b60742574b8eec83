// Writes build/workos-sdk/: the official WorkOS SDK's Workers build with what this gateway never
// touches left out, so the deployed bundle stays within its budget (README "Bench"). wrangler.toml
// aliases `@workos-inc/node` to it; types still come from the package itself.
//
// The SDK's WorkOS class creates a client for every WorkOS product in its constructor, so a bundler
// cannot drop the ones a program never uses, and its AuthKit session helpers load jose (about a
// third of the SDK) on demand. The gateway uses `sso`, `userManagement` (Magic Auth, users),
// `passwordless`, `organizations`, `multiFactorAuth`, `webhooks` and `pkce`; the other product
// clients are not created here, and jose's loader rejects (only AuthKit's sealed-session and JWKS
// helpers reach it, which the gateway does not call). Each change must match the SDK's source
// exactly once: after an SDK upgrade that moves things, this script fails loudly rather than
// shipping something half-patched.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const lib = join(root, 'node_modules/@workos-inc/node/lib')
const out = join(root, 'build/workos-sdk')

const UNUSED_CLIENTS = [
  'agents',
  'apiKeys',
  'authorization',
  'directorySync',
  'connect',
  'events',
  'featureFlags',
  'groups',
  'organizationDomains',
  'pipes',
  'radar',
  'adminPortal',
  'vault',
  'widgets',
]

function replaceOnce(text: string, from: RegExp, to: string, what: string): string {
  const matches = text.match(new RegExp(from.source, `${from.flags.replace('g', '')}g`))
  if (matches?.length !== 1)
    throw new Error(`slim-workos: expected one ${what} in the SDK, found ${matches?.length ?? 0}`)
  return text.replace(from, to)
}

const entry = readFileSync(join(lib, 'index.worker.mjs'), 'utf8')
const factoryName = /from "\.\/(factory-[A-Za-z0-9_-]+\.mjs)"/.exec(entry)?.[1]
if (!factoryName) throw new Error('slim-workos: the SDK Workers entry no longer imports a factory')
let factory = readFileSync(join(lib, factoryName), 'utf8')
for (const client of UNUSED_CLIENTS)
  factory = replaceOnce(
    factory,
    new RegExp(`\\n\\t${client} = new \\w+\\(this\\);`),
    `\n\t${client} = void 0;`,
    `"${client}" client`,
  )
factory = replaceOnce(
  factory,
  /\t\tthis\.actions = this\.createActionsClient\(\);/,
  '\t\tthis.actions = void 0;',
  'Actions client',
)
factory = replaceOnce(
  factory,
  /return _josePromise \?\?= import\("\.\/webapi-[A-Za-z0-9_-]+\.mjs"\);/,
  'return _josePromise ??= Promise.reject(new Error("jose is not bundled in this gateway"));',
  'jose loader',
)

// Classes the gateway keeps, reduced to the methods it calls (src/ greps as `workosClient(…).x.y`):
// a bundler cannot drop a class's unused methods, and each pulls its serializers along (the
// user-management client alone carries some 60). A method named here that the SDK no longer has
// fails the install, so an SDK update is noticed here rather than at run time.
const KEPT_METHODS: Record<string, readonly string[]> = {
  UserManagement: [
    'constructor',
    'resolveClientId',
    'getUser',
    'authenticateWithMagicAuth',
    'prepareAuthenticationResponse',
    'createMagicAuth',
  ],
  SSO: ['constructor', 'listConnections', 'getAuthorizationUrl', 'getProfileAndToken'],
  AuditLogs: ['constructor', 'createEvent'],
  // Signature checks only: constructEvent alone pulls in a deserializer for every event type.
  Webhooks: ['constructor', 'signatureProvider', 'verifyHeader'],
  Organizations: ['constructor', 'listOrganizations', 'getOrganization'],
  MultiFactorAuth: [
    'constructor',
    'deleteFactor',
    'enrollFactor',
    'challengeFactor',
    'verifyChallenge',
  ],
}

/** `var Name = class {…};` with only `keep`'s methods (and their doc comments) left in it. */
function keepMethods(text: string, name: string, keep: readonly string[]): string {
  const lines = text.split('\n')
  const start = lines.indexOf(`var ${name} = class {`)
  if (start < 0) throw new Error(`slim-workos: no class ${name} in the SDK`)
  const end = lines.findIndex((line, index) => index > start && line === '};')
  const method = /^\t(?:async |get |set |static )*(#?[A-Za-z_$][\w$]*)\(.*\{$/
  const kept: string[] = []
  const found = new Set<string>()
  let pendingDoc: string[] = []
  for (let index = start + 1; index < end; index++) {
    const line = lines[index]!
    if (line === '\t/**') {
      pendingDoc = [line]
      while (lines[index] !== '\t*/') pendingDoc.push(lines[++index]!)
      continue
    }
    const named = method.exec(line)
    if (!named) {
      kept.push(...pendingDoc, line)
      pendingDoc = []
      continue
    }
    let close = index
    while (lines[close] !== '\t}') close++
    found.add(named[1]!)
    if (keep.includes(named[1]!)) kept.push(...pendingDoc, ...lines.slice(index, close + 1))
    pendingDoc = []
    index = close
  }
  const missing = keep.filter((m) => !found.has(m))
  if (missing.length > 0) throw new Error(`slim-workos: ${name} has no ${missing.join(', ')}`)
  return [...lines.slice(0, start + 1), ...kept, ...lines.slice(end)].join('\n')
}
for (const [name, keep] of Object.entries(KEPT_METHODS)) factory = keepMethods(factory, name, keep)

// The SDK's source maps describe the unpatched files and are not copied: the pointers to them
// would only make the test pool print that it cannot read them.
const withoutSourceMap = (code: string) => code.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n')

mkdirSync(out, { recursive: true })
writeFileSync(join(out, 'index.worker.mjs'), withoutSourceMap(entry))
writeFileSync(join(out, factoryName), withoutSourceMap(factory))
// Any other chunk the factory imports statically (the bundler's runtime helper).
for (const [, chunk] of factory.matchAll(/from "\.\/([A-Za-z0-9_-]+\.mjs)"/g))
  copyFileSync(join(lib, chunk!), join(dirname(join(out, factoryName)), chunk!))
console.log(
  `slim-workos: wrote ${out} (left out ${UNUSED_CLIENTS.length + 1} product clients and jose)`,
)
