import { describe, expect, it, vi } from 'vitest'
import { gateway, gatewayWith, uniqueEmail } from './helpers'

// The admin API is one sub-app (src/admin/index.ts) behind one middleware (requireAdmin): these
// hold for each of its routes at once, whatever the route does once let in.

const ADMIN = 'test-admin-token-0123456789-abcdefghijkl'
const ROUTES = [
  ['POST', '/auth/admin/revoke'],
  ['POST', '/auth/admin/mfa/reset'],
  ['POST', '/auth/admin/service-tokens'],
  ['GET', '/auth/admin/service-tokens'],
  ['DELETE', '/auth/admin/service-tokens/st_0123456789abcdef'],
] as const

const call = (method: string, authorization?: string): RequestInit => ({
  method,
  headers: {
    accept: 'application/json',
    'content-type': 'application/json',
    ...(authorization !== undefined && { authorization }),
  },
  ...(method === 'POST' && { body: JSON.stringify({ email: uniqueEmail('admin-api') }) }),
})

describe('the admin API', () => {
  it.each(ROUTES)(
    '%s %s refuses a missing or wrong token with 401 Bearer',
    async (method, path) => {
      for (const authorization of [undefined, 'Bearer wrong', `Bearer ${ADMIN}x`, ADMIN]) {
        const response = await gateway(path, call(method, authorization))
        expect(response.status).toBe(401)
        expect(response.headers.get('www-authenticate')).toBe('Bearer')
        expect(await response.json()).toMatchObject({ error: 'unauthorized' })
      }
    },
  )

  it.each(ROUTES)('%s %s does not exist without ADMIN_TOKEN (404)', async (method, path) => {
    const response = await gatewayWith(
      { ADMIN_TOKEN: undefined },
      path,
      call(method, `Bearer ${ADMIN}`),
    )
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ error: 'not_found' })
  })

  it('takes a form from any origin: a bearer token is never sent by a browser on its own', async () => {
    const response = await gateway('/auth/admin/revoke', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN}`,
        origin: 'https://elsewhere.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ email: uniqueEmail('admin-api') }).toString(),
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ success: true, revoked: 0 })
  })

  it('keeps an unknown admin path behind the token too', async () => {
    expect((await gateway('/auth/admin/nope', call('GET'))).status).toBe(401)
    const known = await gateway('/auth/admin/nope', call('GET', `Bearer ${ADMIN}`))
    expect(known.status).toBe(404)
    expect(known.headers.get('x-origin')).toBeNull()
  })

  it("logs the route it answered, or the admin API's door when refused", async () => {
    const logged = vi.spyOn(console, 'log')
    try {
      await gateway('/auth/admin/revoke', call('POST', `Bearer ${ADMIN}`))
      await gateway('/auth/admin/revoke', call('POST', 'Bearer wrong'))
      const lines = logged.mock.calls.map(
        (c) => JSON.parse(String(c[0])) as Record<string, unknown>,
      )
      expect(lines).toMatchObject([
        { route: '/auth/admin/revoke', status: 200, outcome: 'admin_revoked' },
        { route: '/auth/admin/*', status: 401, outcome: 'admin_refused' },
      ])
      expect(JSON.stringify(lines)).not.toContain(ADMIN)
    } finally {
      logged.mockRestore()
    }
  })
})
