import type { Context, Hono } from 'hono'
import { apiError } from '../errors.ts'
import type { EmulatorState } from '../state.ts'

// WorkOS Audit Logs, POST /audit_logs/events (bearer API key), as the official SDK's
// auditLogs.createEvent sends it: {organization_id, event: {action, occurred_at, version?, actor,
// targets, context: {location, user_agent?}, metadata?}} and an Idempotency-Key header. The
// answers follow WorkOS's OpenAPI spec and recordings of the real API:
// - 201 {"success": true} (recorded; the spec says 200, which the SDK treats the same);
// - 422 {"message": "Validation failed.", "errors": [{field, code}]} for a missing or mistyped
//   field. The spec's example code is "required"; here each code names its field, as the recorded
//   422s of other routes do, because the SDK keeps only the codes (in its message), not `errors`;
// - 400 {"message": "Invalid Audit Log event.", "code": "invalid_audit_log_event", "errors":
//   [{instancePath, message}]} for metadata beyond the spec's limits (at most 50 keys of
//   [a-zA-Z0-9_-]{0,40}, each a string of at most 500 characters, a number or a boolean);
// - 404 {"message": "Organization not found: '<id>'."} for an organization it does not know;
// - the same Idempotency-Key with the same body within 24 hours answers the stored 201 again and
//   stores nothing; with another body it is 400 {message} (WorkOS's recorded wording), which the
//   SDK raises as GenericServerException.
// Plus GET /__audit_logs (newest first; ?action= and ?organization_id= filter) and DELETE
// /__audit_logs (forgets the events and the keys; ?organization_id= those of one), beside /__mailbox.

type Json = Record<string, unknown>
interface FieldError {
  field: string
  code: string
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/
const METADATA_KEY = /^[a-zA-Z0-9_-]{0,40}$/
const METADATA_MAX_KEYS = 50
const METADATA_MAX_STRING = 500

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const isMissing = (value: unknown) => value === undefined || value === null || value === ''

function checkString(errors: FieldError[], value: unknown, field: string, required: boolean) {
  if (isMissing(value)) {
    if (required) errors.push({ field, code: `${field} is required` })
  } else if (typeof value !== 'string') errors.push({ field, code: `${field} must be a string` })
}

function checkEntity(errors: FieldError[], value: unknown, field: string) {
  if (isMissing(value)) return errors.push({ field, code: `${field} is required` })
  if (!isObject(value)) return errors.push({ field, code: `${field} must be an object` })
  checkString(errors, value.type, `${field}.type`, true)
  checkString(errors, value.id, `${field}.id`, true)
  checkString(errors, value.name, `${field}.name`, false)
}

/** The missing or mistyped fields of a request body (422), in WorkOS's dotted field names. */
export function fieldErrors(body: unknown): FieldError[] {
  const errors: FieldError[] = []
  const root = isObject(body) ? body : {}
  checkString(errors, root.organization_id, 'organization_id', true)
  const event = root.event
  if (isMissing(event)) errors.push({ field: 'event', code: 'event is required' })
  else if (!isObject(event)) errors.push({ field: 'event', code: 'event must be an object' })
  if (!isObject(event)) return errors

  checkString(errors, event.action, 'event.action', true)
  if (isMissing(event.occurred_at))
    errors.push({ field: 'event.occurred_at', code: 'event.occurred_at is required' })
  else if (
    typeof event.occurred_at !== 'string' ||
    !ISO_8601.test(event.occurred_at) ||
    Number.isNaN(Date.parse(event.occurred_at))
  )
    errors.push({
      field: 'event.occurred_at',
      code: 'event.occurred_at must be an ISO 8601 date string',
    })
  if (
    event.version !== undefined &&
    !(Number.isInteger(event.version) && Number(event.version) > 0)
  )
    errors.push({ field: 'event.version', code: 'event.version must be a positive integer' })
  checkEntity(errors, event.actor, 'event.actor')
  if (isMissing(event.targets))
    errors.push({ field: 'event.targets', code: 'event.targets is required' })
  else if (!Array.isArray(event.targets))
    errors.push({ field: 'event.targets', code: 'event.targets must be an array' })
  else event.targets.forEach((target, i) => checkEntity(errors, target, `event.targets.${i}`))
  const context = event.context
  if (isMissing(context)) errors.push({ field: 'event.context', code: 'event.context is required' })
  else if (!isObject(context))
    errors.push({ field: 'event.context', code: 'event.context must be an object' })
  else {
    checkString(errors, context.location, 'event.context.location', true)
    checkString(errors, context.user_agent, 'event.context.user_agent', false)
  }
  return errors
}

/** Metadata beyond the spec's limits (400), as JSON-schema paths inside the event. */
export function metadataErrors(event: Json): { instancePath: string; message: string }[] {
  const places: [string, unknown][] = [
    ['/metadata', event.metadata],
    ['/actor/metadata', (event.actor as Json).metadata],
    ...(event.targets as Json[]).map((t, i): [string, unknown] => [
      `/targets/${i}/metadata`,
      t.metadata,
    ]),
  ]
  const errors: { instancePath: string; message: string }[] = []
  for (const [path, metadata] of places) {
    if (metadata === undefined) continue
    if (!isObject(metadata)) {
      errors.push({ instancePath: path, message: 'must be object' })
      continue
    }
    const entries = Object.entries(metadata)
    if (entries.length > METADATA_MAX_KEYS)
      errors.push({
        instancePath: path,
        message: `must NOT have more than ${METADATA_MAX_KEYS} properties`,
      })
    for (const [key, value] of entries) {
      if (!METADATA_KEY.test(key))
        errors.push({
          instancePath: path,
          message: `must NOT have additional properties: '${key}'`,
        })
      else if (typeof value === 'string' && value.length > METADATA_MAX_STRING)
        errors.push({
          instancePath: `${path}/${key}`,
          message: `must NOT have more than ${METADATA_MAX_STRING} characters`,
        })
      else if (!['string', 'number', 'boolean'].includes(typeof value))
        errors.push({
          instancePath: `${path}/${key}`,
          message: 'must be string, number or boolean',
        })
    }
  }
  return errors
}

function idempotencyKeyOf(c: Context): string | null {
  return c.req.header('idempotency-key') || null
}

export function auditLogRoutes(app: Hono, state: EmulatorState) {
  app.post('/audit_logs/events', async (c) => {
    const body: unknown = await c.req.json().catch(() => null)
    const key = idempotencyKeyOf(c)
    // A key already answered decides before anything else: a replay never runs again.
    if (key) {
      const seen = state.auditLogs.lookup(key, body, state.now())
      if (seen.kind === 'replay') return c.json(seen.body, seen.status)
      if (seen.kind === 'conflict')
        return apiError(c, 400, {
          message: `Another idempotency key (${key}) with different request parameters was found. Please use a different idempotency key.`,
        })
    }
    const errors = fieldErrors(body)
    if (errors.length > 0) return apiError(c, 422, { message: 'Validation failed.', errors })
    const { organization_id: organizationId, event } = body as {
      organization_id: string
      event: Json
    }
    const invalidMetadata = metadataErrors(event)
    if (invalidMetadata.length > 0)
      return apiError(c, 400, {
        message: 'Invalid Audit Log event.',
        code: 'invalid_audit_log_event',
        errors: invalidMetadata,
      })
    if (!state.organizations.has(organizationId))
      return apiError(c, 404, { message: `Organization not found: '${organizationId}'.` })
    state.auditLogs.record(organizationId, event, key, body, state.now())
    return c.json({ success: true }, 201)
  })

  app.get('/__audit_logs', (c) => {
    const { action, organization_id: organizationId } = c.req.query()
    return c.json({
      events: state.auditLogs
        .list()
        .filter(
          (received) =>
            (!action || received.event.action === action) &&
            (!organizationId || received.organization_id === organizationId),
        ),
    })
  })
  app.delete('/__audit_logs', (c) => {
    state.auditLogs.clear(c.req.query('organization_id') || undefined)
    return c.json({ success: true })
  })
}
