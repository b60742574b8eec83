import type { Hono } from 'hono'
import { apiError } from '../errors.ts'
import type { EmulatorState, User } from '../state.ts'

// The user routes that change who a person is, each emitting the webhook WorkOS would send.

function findUser(state: EmulatorState, id: string): User | undefined {
  for (const user of state.users.values()) if (user.id === id) return user
  return undefined
}

const notFound = (id: string) => ({
  message: `User not found: '${id}'.`,
  code: 'entity_not_found',
  entity_id: id,
})

export function userRoutes(app: Hono, state: EmulatorState) {
  app.get('/user_management/users/:id', (c) => {
    const user = findUser(state, c.req.param('id'))
    return user ? c.json(user) : apiError(c, 404, notFound(c.req.param('id')))
  })

  app.put('/user_management/users/:id', async (c) => {
    const user = findUser(state, c.req.param('id'))
    if (!user) return apiError(c, 404, notFound(c.req.param('id')))
    const body = ((await c.req.json().catch(() => null)) ?? {}) as Record<string, unknown>
    if (typeof body.email === 'string' && body.email.toLowerCase() !== user.email.toLowerCase()) {
      state.users.delete(user.email.toLowerCase())
      user.email = body.email
      user.email_verified = false
      state.users.set(user.email.toLowerCase(), user)
    }
    if (typeof body.first_name === 'string') user.first_name = body.first_name
    if (typeof body.last_name === 'string') user.last_name = body.last_name
    user.updated_at = new Date(state.now()).toISOString()
    state.webhooks.emit('user.updated', { ...user })
    return c.json(user)
  })

  app.delete('/user_management/users/:id', (c) => {
    const user = findUser(state, c.req.param('id'))
    if (!user) return apiError(c, 404, notFound(c.req.param('id')))
    state.users.delete(user.email.toLowerCase())
    state.webhooks.emit('user.deleted', { ...user })
    return c.body(null, 202)
  })
}
