import type { AppContext } from '../app-env'
import { OPERATOR } from '../audit/actors'
import { audit } from '../audit/record'
import { readFields } from '../body'
import { GatewayError } from '../errors'
import { log } from '../log'
import { kvOrFailClosed } from '../kv/fail-closed'
import { clientIdOf, isServiceTokenId, type StoredServiceToken } from '../service-tokens/store'
import { serviceTokenStore } from '../service-tokens/verify'

// The service-token admin API (README "Service tokens"). Every answer is no-store (the
// /auth/* middleware), and no log line carries a secret: tokens are logged by id only.

// Names are labels, not keys: two tokens may share one, so a machine's credentials can be
// rotated (create "ci-bot" again, deploy it, revoke the old id) without a rename.
const NAME_PATTERN = /^[a-z0-9-]{1,64}$/
const MIN_EXPIRES_IN_SECONDS = 60 // KV's minimum expirationTtl
const MAX_EXPIRES_IN_SECONDS = 31536000 // one year
const CREATE_FIELDS = new Set(['name', 'expiresInSeconds'])

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** POST /auth/admin/service-tokens: `{"name", "expiresInSeconds"?}` → 201 with the secret, once. */
export async function createServiceToken(c: AppContext) {
  const input = parseCreateRequest(await readFields(c))
  const store = serviceTokenStore(c)
  const { record, clientSecret } = await kvOrFailClosed(() => store.create(input))
  log({ event: 'service_token_created', tokenId: record.id })
  audit(c, {
    action: 'gateway.service_token.created',
    actor: OPERATOR,
    targets: [{ type: 'service_token', id: record.id, name: record.name }],
    metadata: { expires_at: iso(record.expiresAt) ?? undefined },
  })
  return c.json(
    {
      id: record.id,
      name: record.name,
      clientId: clientIdOf(record.id),
      clientSecret,
      createdAt: iso(record.createdAt),
      expiresAt: iso(record.expiresAt),
    },
    201,
  )
}

/** GET /auth/admin/service-tokens: every live token, without secrets or hashes. */
export async function listServiceTokens(c: AppContext) {
  const store = serviceTokenStore(c)
  const tokens = await kvOrFailClosed(() => store.list())
  return c.json({ tokens: tokens.map(describe) })
}

/** DELETE /auth/admin/service-tokens/:id: the token stops working at once in this isolate. */
export async function revokeServiceToken(c: AppContext) {
  const id = c.req.param('id') ?? ''
  const store = serviceTokenStore(c)
  if (!isServiceTokenId(id) || !(await kvOrFailClosed(() => store.revoke(id))))
    throw new GatewayError(404, 'token_not_found', 'There is no service token with this id.')
  log({ event: 'service_token_revoked', tokenId: id })
  audit(c, {
    action: 'gateway.service_token.revoked',
    actor: OPERATOR,
    targets: [{ type: 'service_token', id }],
  })
  return c.json({ success: true })
}

function describe({ record, lastUsedAt }: StoredServiceToken) {
  return {
    id: record.id,
    name: record.name,
    clientId: clientIdOf(record.id),
    createdAt: iso(record.createdAt),
    expiresAt: iso(record.expiresAt),
    lastUsedAt: iso(lastUsedAt),
  }
}

function parseCreateRequest(fields: Record<string, unknown>) {
  // An unknown field is refused rather than ignored: a misspelt expiry must not quietly make a
  // token that never expires.
  const unknown = Object.keys(fields).find((field) => !CREATE_FIELDS.has(field))
  if (unknown !== undefined)
    throw new GatewayError(
      400,
      'unknown_field',
      `Unknown field "${unknown.slice(0, 40)}": send {"name": "…", "expiresInSeconds"?: n}.`,
    )
  const { name, expiresInSeconds } = fields
  if (typeof name !== 'string' || !NAME_PATTERN.test(name))
    throw new GatewayError(
      400,
      'invalid_name',
      '"name" must be 1 to 64 characters of a-z, 0-9 and "-", e.g. "ci-bot".',
    )
  if (expiresInSeconds === undefined || expiresInSeconds === null) return { name }
  // A form sends numbers as text; JSON should send a number.
  const seconds =
    typeof expiresInSeconds === 'string' && /^\d{1,9}$/.test(expiresInSeconds)
      ? Number(expiresInSeconds)
      : expiresInSeconds
  if (
    typeof seconds !== 'number' ||
    !Number.isInteger(seconds) ||
    seconds < MIN_EXPIRES_IN_SECONDS ||
    seconds > MAX_EXPIRES_IN_SECONDS
  )
    throw new GatewayError(
      400,
      'invalid_expires_in_seconds',
      `"expiresInSeconds" must be a whole number from ${MIN_EXPIRES_IN_SECONDS} to ${MAX_EXPIRES_IN_SECONDS} (a year), or left out for a token that does not expire.`,
    )
  return { name, expiresInSeconds: seconds }
}
