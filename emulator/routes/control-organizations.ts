import type { Context, Hono } from 'hono'
import { z } from 'zod'
import {
  connectionJson,
  directoryGroupJson,
  directoryUserJson,
  domainOf,
  membershipJson,
  type Connection,
} from '../organizations.ts'
import type { EmulatorState } from '../state.ts'

// Switches for organizations, connections, memberships, the directory and MFA challenges, beside
// /__faults and the mailbox. The ones that change something WorkOS would announce emit its
// webhook, signed and delivered like the user routes' (posted to the gateway under `npm run dev`,
// listed by GET /__webhooks in tests).

const organizationSchema = z
  .object({
    id: z.string().min(1).optional(),
    name: z.string().min(1),
    domains: z
      .array(
        z.union([
          z.string().min(1),
          z.object({ domain: z.string().min(1), state: z.enum(['verified', 'pending', 'failed']) }),
        ]),
      )
      .default([]),
    sso: z.boolean().default(true),
    allowProfilesOutsideOrganization: z.boolean().optional(),
    connectionId: z.string().min(1).optional(),
    connectionType: z.string().min(1).optional(),
  })
  .strict()

const membershipSchema = z
  .object({
    role: z.string().min(1).optional(),
    roles: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()

const directorySchema = z
  .object({ email: z.email().optional(), organizationId: z.string().min(1).optional() })
  .strict()

async function parse<T extends z.ZodType>(c: Context, schema: T) {
  const text = await c.req.text()
  return schema.safeParse(text ? JSON.parse(text) : {})
}

const invalid = (c: Context, error: z.ZodError) =>
  c.json(
    {
      message: 'Invalid body',
      errors: error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    },
    400,
  )

export function controlOrganizationRoutes(app: Hono, state: EmulatorState) {
  // {"id"?, "name", "domains": ["acme.test" | {"domain", "state"}], "sso"?: true,
  // "allowProfilesOutsideOrganization"?: false, "connectionId"?, "connectionType"?} → 201 {"id",
  // "connectionId"}. A given id is used as is; posting an id that
  // exists updates that organization (still 201), so a policy can name it before it exists and
  // test files can post the same one.
  app.post('/__organizations', async (c) => {
    const parsed = await parse(c, organizationSchema).catch(() => undefined)
    if (!parsed) return c.json({ message: 'Send a JSON body.' }, 400)
    if (!parsed.success) return invalid(c, parsed.error)
    const result = state.putOrganization(parsed.data)
    if ('conflict' in result)
      return c.json({ message: result.conflict, code: 'domain_conflict' }, 409)
    const { organization, connection } = result
    return c.json(
      {
        id: organization.id,
        connectionId: connection?.id ?? null,
        created: result.created,
      },
      201,
    )
  })

  const connectionSwitch = (to: Connection['state'], event: string) => (c: Context) => {
    const connection = state.connections.get(c.req.param('id') ?? '')
    if (!connection) return c.json({ message: `No connection '${c.req.param('id')}'.` }, 404)
    connection.state = to
    connection.updatedAt = state.now()
    const data = connectionJson(connection, state.organizations.get(connection.organizationId))
    const delivery = state.webhooks.emit(event, data)
    return c.json({ connection: data, eventId: delivery.id })
  }
  app.post('/__connections/:id/deactivate', connectionSwitch('inactive', 'connection.deactivated'))
  app.post('/__connections/:id/activate', connectionSwitch('active', 'connection.activated'))
  app.delete('/__connections/:id', (c) => {
    const connection = state.connections.get(c.req.param('id'))
    if (!connection) return c.json({ message: `No connection '${c.req.param('id')}'.` }, 404)
    state.connections.delete(connection.id)
    const data = connectionJson(connection, state.organizations.get(connection.organizationId))
    const delivery = state.webhooks.emit('connection.deleted', data)
    return c.json({ connection: data, eventId: delivery.id })
  })

  // PUT {"role"} or {"roles": [...]}: creates (organization_membership.created, 201) or changes
  // (organization_membership.updated, 200) a person's membership; DELETE removes it
  // (organization_membership.deleted). Data: the membership, as WorkOS sends it.
  app.put('/__organizations/:id/memberships/:email', async (c) => {
    const organization = state.organizations.get(c.req.param('id'))
    if (!organization) return c.json({ message: `No organization '${c.req.param('id')}'.` }, 404)
    const parsed = await parse(c, membershipSchema).catch(() => undefined)
    if (!parsed) return c.json({ message: 'Send a JSON body.' }, 400)
    if (!parsed.success) return invalid(c, parsed.error)
    const roles = parsed.data.roles ?? [parsed.data.role ?? 'member']
    const { membership, created } = state.putMembership(
      organization.id,
      c.req.param('email'),
      roles,
    )
    const data = membershipJson(membership, organization)
    const delivery = state.webhooks.emit(
      created ? 'organization_membership.created' : 'organization_membership.updated',
      data,
    )
    return c.json({ membership: data, eventId: delivery.id }, created ? 201 : 200)
  })
  app.delete('/__organizations/:id/memberships/:email', (c) => {
    const organization = state.organizations.get(c.req.param('id'))
    const membership = organization && state.removeMembership(organization.id, c.req.param('email'))
    if (!membership) return c.json({ message: 'No such membership.' }, 404)
    const data = membershipJson(membership, organization)
    const delivery = state.webhooks.emit('organization_membership.deleted', data)
    return c.json({ membership: data, eventId: delivery.id })
  })

  // Directory Sync. The organization is the one whose verified domain the email is at, unless the
  // body names one ({"organizationId"}); its directory, users and groups are made on first use.
  const directoryOrganization = (email: string, organizationId: string | undefined) =>
    organizationId
      ? state.organizations.get(organizationId)
      : state.organizationForDomain(domainOf(email))

  // → dsync.user.deleted, data: the directory user (state "inactive").
  app.post('/__directory/users/:email/delete', async (c) => {
    const parsed = await parse(c, directorySchema).catch(() => undefined)
    if (!parsed?.success) return c.json({ message: 'Send {} or {"organizationId"}.' }, 400)
    const email = c.req.param('email')
    const organization = directoryOrganization(email, parsed.data.organizationId)
    if (!organization) return c.json({ message: `No organization for '${email}'.` }, 404)
    const user = state.directoryUserFor(organization.id, email)
    user.state = 'inactive'
    user.updatedAt = state.now()
    state.directoryUsers.delete(`${user.directoryId} ${email.toLowerCase()}`)
    const data = directoryUserJson(user)
    const delivery = state.webhooks.emit('dsync.user.deleted', data)
    return c.json({ user: data, eventId: delivery.id })
  })

  // {"email"} → dsync.group.user_added / dsync.group.user_removed, data {directory_id, user, group}.
  const groupChange = (event: string) => async (c: Context) => {
    const parsed = await parse(c, directorySchema).catch(() => undefined)
    const email = parsed?.success ? parsed.data.email : undefined
    if (!parsed?.success || !email)
      return c.json({ message: 'Send {"email", "organizationId"?}.' }, 400)
    const organization = directoryOrganization(email, parsed.data.organizationId)
    if (!organization) return c.json({ message: `No organization for '${email}'.` }, 404)
    const user = state.directoryUserFor(organization.id, email)
    const group = state.directoryGroupFor(organization.id, c.req.param('group') ?? '')
    const data = {
      directory_id: user.directoryId,
      user: directoryUserJson(user),
      group: directoryGroupJson(group),
    }
    const delivery = state.webhooks.emit(event, data)
    return c.json({ ...data, eventId: delivery.id })
  }
  app.post('/__directory/groups/:group/add', groupChange('dsync.group.user_added'))
  app.post('/__directory/groups/:group/remove', groupChange('dsync.group.user_removed'))

  // Expires one MFA challenge now, so a test can see authentication_challenge_expired.
  app.post('/__challenges/:id/expire', (c) => {
    const challenge = state.challenges.get(c.req.param('id'))
    if (!challenge) return c.json({ message: `No challenge '${c.req.param('id')}'.` }, 404)
    challenge.expiresAt = state.now() - 1
    return c.json({ success: true })
  })
}
