import type { Context, Hono } from 'hono'
import { apiError } from '../errors.ts'
import { connectionJson, membershipJson, organizationJson } from '../organizations.ts'
import type { EmulatorState } from '../state.ts'

// Read routes for organizations, SSO connections and memberships (bearer API key), answering the
// list shape the SDK's fetchAndDeserialize reads: {object: "list", data, list_metadata}.

const notFound = (c: Context, what: string, id: string) =>
  apiError(c, 404, {
    message: `${what} not found: '${id}'.`,
    code: 'entity_not_found',
    entity_id: id,
  })

/** GET query values that may come comma-joined (URLSearchParams of an array) or repeated. */
function listParam(c: Context, name: string): string[] {
  return (c.req.queries(name) ?? [])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean)
}

/**
 * Cursor pagination as WorkOS does it: `order` (desc by default, by creation), `limit` (10, at most
 * 100), and `after`/`before` naming an id; list_metadata names the cursors for the pages beside.
 */
function page<T extends { id: string; createdAt: number }, J>(
  c: Context,
  records: T[],
  toJson: (record: T) => J,
) {
  const order = c.req.query('order') === 'asc' ? 1 : -1
  const sorted = [...records].sort(
    (a, b) => order * (a.createdAt - b.createdAt || a.id.localeCompare(b.id)),
  )
  const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 10) || 10, 1), 100)
  const after = c.req.query('after')
  const before = c.req.query('before')
  let start = 0
  let end = sorted.length
  if (after) start = sorted.findIndex((r) => r.id === after) + 1
  if (before)
    end = Math.max(
      sorted.findIndex((r) => r.id === before),
      0,
    )
  if (before && !after) start = Math.max(end - limit, 0)
  else end = Math.min(start + limit, end)
  const data = sorted.slice(start, end)
  return c.json({
    object: 'list',
    data: data.map(toJson),
    list_metadata: {
      before: start > 0 && data[0] ? data[0].id : null,
      after: end < sorted.length && data.at(-1) ? data.at(-1)!.id : null,
    },
  })
}

export function organizationRoutes(app: Hono, state: EmulatorState) {
  app.get('/organizations', (c) => {
    const domains = new Set(listParam(c, 'domains').map((d) => d.toLowerCase()))
    // Any organization with a matching domain, whatever the domain's state (as WorkOS answers).
    const matching = [...state.organizations.values()].filter(
      (organization) =>
        domains.size === 0 || organization.domains.some((d) => domains.has(d.domain)),
    )
    return page(c, matching, organizationJson)
  })

  app.get('/organizations/:id', (c) => {
    const organization = state.organizations.get(c.req.param('id'))
    return organization
      ? c.json(organizationJson(organization))
      : notFound(c, 'Organization', c.req.param('id'))
  })

  app.get('/connections', (c) => {
    const organizationId = c.req.query('organization_id')
    const connectionType = c.req.query('connection_type')
    const domain = c.req.query('domain')?.toLowerCase()
    const matching = [...state.connections.values()].filter((connection) => {
      if (organizationId && connection.organizationId !== organizationId) return false
      if (connectionType && connection.connectionType !== connectionType) return false
      if (domain) {
        const organization = state.organizations.get(connection.organizationId)
        if (!organization?.domains.some((d) => d.domain === domain && d.state === 'verified'))
          return false
      }
      return true
    })
    return page(c, matching, (connection) =>
      connectionJson(connection, state.organizations.get(connection.organizationId)),
    )
  })

  app.get('/connections/:id', (c) => {
    const connection = state.connections.get(c.req.param('id'))
    if (!connection) return notFound(c, 'Connection', c.req.param('id'))
    return c.json(connectionJson(connection, state.organizations.get(connection.organizationId)))
  })

  app.get('/user_management/organization_memberships', (c) => {
    const userId = c.req.query('user_id')
    const organizationId = c.req.query('organization_id')
    if (!userId && !organizationId) {
      return apiError(c, 422, {
        message: 'Validation failed',
        code: 'invalid_request_parameters',
        errors: [{ field: 'user_id', code: 'Either user_id or organization_id is required.' }],
      })
    }
    // Only active memberships unless `statuses` says otherwise (the SDK's documented default).
    const statuses = listParam(c, 'statuses')
    const wanted = new Set(statuses.length > 0 ? statuses : ['active'])
    const matching = [...state.memberships.values()].filter(
      (membership) =>
        (!userId || membership.userId === userId) &&
        (!organizationId || membership.organizationId === organizationId) &&
        wanted.has(membership.status),
    )
    return page(c, matching, (membership) =>
      membershipJson(membership, state.organizations.get(membership.organizationId)),
    )
  })

  app.get('/user_management/organization_memberships/:id', (c) => {
    const id = c.req.param('id')
    const membership = [...state.memberships.values()].find((m) => m.id === id)
    if (!membership) return notFound(c, 'Organization membership', id)
    return c.json(membershipJson(membership, state.organizations.get(membership.organizationId)))
  })
}
