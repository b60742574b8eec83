import { env } from 'cloudflare:workers'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { AppEnv } from '../src/app-env'
import { ConfigError, configFor, parseConfig } from '../src/config'
import { issueGrant, issueTokens, refreshTokens, type TokenAnswer } from '../src/oauth/tokens'
import { currentSession } from '../src/session/current'
import { ADMIN_TOKEN, GATEWAY, gatewayWith, json, signIn, uniqueEmail } from './helpers'

// A client acting as the person with one of the gateway's access tokens (README "Command lines
// and AI agents"): decided by the route's policy like the cookie, on its own resource only, never
// passed to the origin, and ended with the person's sessions.

const ACCESS = JSON.stringify({
  routes: [
    { name: 'mcp', path: '/mcp/*' },
    { name: 'fresh', path: '/fresh/*', maxSignInAge: 1 },
    { name: 'no-tokens', path: '/browser-only/*', oauth: false },
    { name: 'open', path: '/open/*', public: true },
    { name: 'app', path: '/*' },
  ],
})
const MCP = `${GATEWAY}/mcp`

// Grants are made by the consent step in production; here the same functions make one from a
// browser session, so this file tests what a token opens, not how it was obtained.
const minting = new Hono<AppEnv>()
minting.post('/mint', async (c) => {
  c.set('config', configFor(c.env))
  const session = await currentSession(c, { refresh: false })
  if (session.state !== 'active') return c.json({ error: 'no session' }, 401)
  const { resource, clientName } = await c.req.json<{ resource: string; clientName: string }>()
  const grant = await issueGrant(c, session, { clientId: 'gwc_test', clientName }, resource)
  return c.json(await issueTokens(c, grant))
})
minting.post('/refresh', async (c) => {
  c.set('config', configFor(c.env))
  const { refreshToken } = await c.req.json<{ refreshToken: string }>()
  return c.json(await refreshTokens(c, refreshToken, 'gwc_test'))
})

async function tokensFor(cookie: string, resource = MCP): Promise<TokenAnswer> {
  const answer = await minting.request(
    '/mint',
    json({ resource, clientName: 'Test CLI' }, { cookie }),
    { ...env, ACCESS },
  )
  expect(answer.status).toBe(200)
  return (await answer.json()) as TokenAnswer
}

const call = (path: string, token: string, headers: Record<string, string> = {}) =>
  gatewayWith({ ACCESS }, path, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...headers },
  })

describe('an access token', () => {
  it('acts as the person on its own resource; the origin gets the identity, never the token', async () => {
    const email = uniqueEmail('bearer')
    const { cookie } = await signIn(email)
    const { access_token, token_type, expires_in } = await tokensFor(cookie)
    expect(token_type).toBe('Bearer')
    expect(expires_in).toBeGreaterThan(3500)
    expect(access_token).toMatch(/^gwat_/)
    const response = await call('/mcp/tools', access_token)
    expect(response.status).toBe(200)
    const seen = (await response.json()) as { headers: Record<string, string> }
    expect(seen.headers['x-auth-email']).toBe(email)
    expect(seen.headers['x-auth-client']).toBe('gwc_test')
    expect(seen.headers.authorization).toBeUndefined()
  })

  it('is refused on another resource, with the challenge naming that resource', async () => {
    const { cookie } = await signIn()
    const { access_token } = await tokensFor(cookie)
    const response = await call('/reports', access_token)
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'invalid_token' })
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${GATEWAY}/.well-known/oauth-protected-resource", error="invalid_token"`,
    )
  })

  it('a request without one gets the challenge, not a redirect', async () => {
    const response = await gatewayWith({ ACCESS }, '/mcp/tools', {
      headers: { accept: 'application/json' },
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${GATEWAY}/.well-known/oauth-protected-resource/mcp"`,
    )
  })

  it('is refused on a route with "oauth": false, and opens none of the gateway’s own pages', async () => {
    const { cookie } = await signIn()
    const { access_token } = await tokensFor(cookie, `${GATEWAY}/mcp`)
    expect((await call('/browser-only/x', access_token)).status).toBe(401)
    const me = await call('/auth/me', access_token)
    expect(me.status).toBe(401)
  })

  it('another Authorization header passes to the origin untouched', async () => {
    const { cookie } = await signIn()
    const response = await gatewayWith({ ACCESS }, '/reports', {
      headers: { cookie, authorization: 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' },
    })
    expect(response.status).toBe(200)
    const seen = (await response.json()) as { headers: Record<string, string> }
    expect(seen.headers.authorization).toBe('Basic YWxhZGRpbjpvcGVuc2VzYW1l')
  })

  it('its grant is listed on the person’s sessions page with the client and resource', async () => {
    const { cookie } = await signIn()
    await tokensFor(cookie)
    const listed = await gatewayWith({ ACCESS }, '/auth/sessions', {
      headers: { cookie, accept: 'application/json' },
    })
    const { sessions } = (await listed.json()) as {
      sessions: { client: { name: string; resource: string } | null }[]
    }
    expect(sessions.map((s) => s.client)).toContainEqual({
      id: 'gwc_test',
      name: 'Test CLI',
      resource: MCP,
    })
  })

  it('ends with the person’s sessions (admin revocation)', async () => {
    const email = uniqueEmail('bearer-revoked')
    const { cookie } = await signIn(email)
    const { access_token } = await tokensFor(cookie)
    expect((await call('/mcp/x', access_token)).status).toBe(200)
    const revoked = await gatewayWith(
      { ACCESS },
      '/auth/admin/revoke',
      json({ email }, { authorization: `Bearer ${ADMIN_TOKEN}` }),
    )
    expect(revoked.status).toBe(200)
    expect((await call('/mcp/x', access_token)).status).toBe(401)
  })

  it('is held to maxSignInAge like the cookie: invalid_token, never a redirect', async () => {
    const { cookie } = await signIn()
    const { access_token } = await tokensFor(cookie, `${GATEWAY}/fresh`)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const response = await call('/fresh/x', access_token, { accept: 'text/html' })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"')
  })

  it('answered from the isolate cache, still ends with its grant and opens only its resource', async () => {
    const cached = { ACCESS, SESSION_CACHE_SECONDS: '60' }
    const cachedCall = (path: string, token: string) =>
      gatewayWith(cached, path, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      })
    const email = uniqueEmail('bearer-cached')
    const { cookie } = await signIn(email)
    const { access_token } = await tokensFor(cookie)
    // The first request reads KV and fills the caches; the second is answered from them.
    expect((await cachedCall('/mcp/x', access_token)).status).toBe(200)
    expect((await cachedCall('/mcp/x', access_token)).status).toBe(200)
    expect((await cachedCall('/elsewhere', access_token)).status).toBe(401)
    const revoked = await gatewayWith(
      cached,
      '/auth/admin/revoke',
      json({ email }, { authorization: `Bearer ${ADMIN_TOKEN}` }),
    )
    expect(revoked.status).toBe(200)
    expect((await cachedCall('/mcp/x', access_token)).status).toBe(401)
  })

  it('a garbled or forged token opens nothing', async () => {
    const { cookie } = await signIn()
    const { access_token } = await tokensFor(cookie)
    const forged = `${access_token.slice(0, -4)}AAAA`
    expect((await call('/mcp/x', forged)).status).toBe(401)
    expect((await call('/mcp/x', 'gwat_nonsense')).status).toBe(401)
  })
})

describe('a refresh token', () => {
  it('is spent by its use; presenting it again ends the grant', async () => {
    const { cookie } = await signIn()
    const first = await tokensFor(cookie)
    const refresh = (refreshToken: string) =>
      minting.request('/refresh', json({ refreshToken }), { ...env, ACCESS })
    const second = (await (await refresh(first.refresh_token)).json()) as TokenAnswer
    expect(second.access_token).toMatch(/^gwat_/)
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect((await call('/mcp/x', second.access_token)).status).toBe(200)
    // The first refresh token again (a thief's copy, or the client's): the grant ends.
    expect(await (await refresh(first.refresh_token)).json()).toEqual({ error: 'invalid_grant' })
    expect((await call('/mcp/x', second.access_token)).status).toBe(401)
  })
})

describe('OAUTH_ACCESS_TOKEN_SECONDS', () => {
  it('is 3600 by default, a whole number from 60 to 3600', () => {
    expect(parseConfig({ ...env }).oauthAccessTokenSeconds).toBe(3600)
    expect(parseConfig({ ...env, OAUTH_ACCESS_TOKEN_SECONDS: '60' }).oauthAccessTokenSeconds).toBe(
      60,
    )
    for (const bad of ['59', '3601', '1.5'])
      expect(() => parseConfig({ ...env, OAUTH_ACCESS_TOKEN_SECONDS: bad })).toThrow(ConfigError)
  })
})
