import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../src/index'

// OAuth discovery as a client finds it: the authorization server's metadata (RFC 8414) on the
// issuer's host, each route's protected-resource metadata (RFC 9728, path inserted) on the host
// that serves it, both readable from any page and both the gateway's own (never an origin's).

const POLICY = {
  routes: [
    { name: 'status', path: '/status', public: true },
    { name: 'mcp', path: '/mcp/*' },
    { name: 'legacy', path: '/legacy/*', oauth: false },
    { name: 'admin', host: 'admin.gateway.test', path: '/*' },
    { name: 'app', path: '/*' },
  ],
}
const ACCESS = JSON.stringify(POLICY)
const SIGN_IN_HOST = {
  SIGN_IN_HOST: 'gateway.test',
  ALLOWED_HOSTS: 'gateway.test, app.gateway.test',
  ACCESS: JSON.stringify({ routes: [{ name: 'mcp', host: 'app.gateway.test', path: '/mcp/*' }] }),
}

/** A request through the Worker, to any host, with some settings replaced. */
async function call(url: string, init: RequestInit = {}, overrides: Record<string, unknown> = {}) {
  const ctx = createExecutionContext()
  const request = new Request(url.startsWith('http') ? url : `https://gateway.test${url}`, {
    redirect: 'manual',
    ...init,
  })
  request.headers.set('cf-connecting-ip', '198.51.100.21')
  const response = await worker.fetch(request, { ...env, ...overrides } as Env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

const AS_METADATA = '/.well-known/oauth-authorization-server'
const PR_METADATA = '/.well-known/oauth-protected-resource'

describe('authorization server metadata', () => {
  it('names every endpoint on the issuer, public clients and S256 only', async () => {
    const response = await call(AS_METADATA)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      issuer: 'https://gateway.test',
      authorization_endpoint: 'https://gateway.test/auth/oauth/authorize',
      token_endpoint: 'https://gateway.test/auth/oauth/token',
      registration_endpoint: 'https://gateway.test/auth/oauth/register',
      revocation_endpoint: 'https://gateway.test/auth/oauth/revoke',
      device_authorization_endpoint: 'https://gateway.test/auth/oauth/device_authorization',
      response_types_supported: ['code'],
      grant_types_supported: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code',
      ],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      authorization_response_iss_parameter_supported: true,
    })
    expect(response.headers.get('cache-control')).toBe('public, max-age=300')
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  })

  it('is served on the issuer only: 404 on another host, and on an app host under SIGN_IN_HOST', async () => {
    const elsewhere = await call(
      `https://other.gateway.test${AS_METADATA}`,
      {},
      {
        ALLOWED_HOSTS: 'other.gateway.test',
      },
    )
    expect(elsewhere.status).toBe(404)
    expect(((await elsewhere.json()) as { error: string }).error).toBe('not_found')

    const appHost = await call(`https://app.gateway.test${AS_METADATA}`, {}, SIGN_IN_HOST)
    expect(appHost.status).toBe(404)
    const signInHost = await call(`https://gateway.test${AS_METADATA}`, {}, SIGN_IN_HOST)
    expect(signInHost.status).toBe(200)
    expect(((await signInHost.json()) as { issuer: string }).issuer).toBe('https://gateway.test')
  })
})

describe('protected resource metadata', () => {
  it('path insertion: an ACCESS route /mcp/* is the resource https://gateway.test/mcp', async () => {
    for (const path of ['/mcp', '/mcp/', '/mcp/sse']) {
      const response = await call(`${PR_METADATA}${path}`, {}, { ACCESS })
      expect(response.status, path).toBe(200)
      expect(await response.json(), path).toEqual({
        resource: 'https://gateway.test/mcp',
        authorization_servers: ['https://gateway.test'],
        bearer_methods_supported: ['header'],
        resource_name: 'mcp',
      })
      expect(response.headers.get('cache-control')).toBe('public, max-age=300')
    }
  })

  it('the root document names the route of /, and a host route is its own host', async () => {
    const root = await call(PR_METADATA, {}, { ACCESS })
    expect(await root.json()).toMatchObject({
      resource: 'https://gateway.test/',
      resource_name: 'app',
    })
    const admin = await call(`https://admin.gateway.test${PR_METADATA}`, {}, { ACCESS })
    expect(await admin.json()).toMatchObject({
      resource: 'https://admin.gateway.test/',
      authorization_servers: ['https://gateway.test'],
      resource_name: 'admin',
    })
  })

  it('404 for a public route, a route with "oauth": false and a path the gate refuses', async () => {
    for (const path of ['/status', '/legacy', '/legacy/x', '/mcp/..%2fadmin', '/mcp//x']) {
      const response = await call(`${PR_METADATA}${path}`, {}, { ACCESS })
      expect(response.status, path).toBe(404)
      expect(((await response.json()) as { error: string }).error, path).toBe('not_found')
    }
  })

  it('without ACCESS the one resource is the gateway itself, with no route name', async () => {
    const response = await call(PR_METADATA)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      resource: 'https://gateway.test/',
      authorization_servers: ['https://gateway.test'],
      bearer_methods_supported: ['header'],
    })
    const open = await call(`${PR_METADATA}/open/x`, {}, { PUBLIC_PATHS: '/open/*' })
    expect(open.status).toBe(404)
  })

  it('under SIGN_IN_HOST: served on an app host, naming the sign-in host; none on the sign-in host', async () => {
    const appHost = await call(`https://app.gateway.test${PR_METADATA}/mcp`, {}, SIGN_IN_HOST)
    expect(appHost.status).toBe(200)
    expect(await appHost.json()).toEqual({
      resource: 'https://app.gateway.test/mcp',
      authorization_servers: ['https://gateway.test'],
      bearer_methods_supported: ['header'],
      resource_name: 'mcp',
    })
    const signInHost = await call(`https://gateway.test${PR_METADATA}/mcp`, {}, SIGN_IN_HOST)
    expect(signInHost.status).toBe(404)
  })
})

describe('both documents', () => {
  it('are readable from any page without credentials, and preflights are answered', async () => {
    const origin = { origin: 'https://inspector.example' }
    for (const path of [AS_METADATA, `${PR_METADATA}/mcp`, `${PR_METADATA}/status`]) {
      const response = await call(path, { headers: origin }, { ACCESS })
      expect(response.headers.get('access-control-allow-origin'), path).toBe('*')
      expect(response.headers.has('access-control-allow-credentials'), path).toBe(false)
      const preflight = await call(
        path,
        {
          method: 'OPTIONS',
          headers: {
            ...origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'mcp-protocol-version',
          },
        },
        { ACCESS },
      )
      expect(preflight.status, path).toBe(204)
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
      expect(preflight.headers.get('access-control-allow-methods')).toContain('GET')
      expect(preflight.headers.get('access-control-allow-headers')).toContain(
        'mcp-protocol-version',
      )
      expect(preflight.headers.has('access-control-allow-credentials')).toBe(false)
    }
  })

  it('are never an origin’s: no route under /.well-known/oauth- reaches it, whatever the method', async () => {
    // A public route over everything: anything the gate passed on, the origin would answer 200.
    const everythingPublic = {
      ACCESS: JSON.stringify({ routes: [{ name: 'site', public: true }] }),
    }
    const asked: [string, string][] = [
      ['POST', PR_METADATA],
      ['PUT', AS_METADATA],
      ['DELETE', `${PR_METADATA}/x`],
      ['GET', '/.well-known/oauth-client'],
      ['GET', `${AS_METADATA}/tenant`],
      ['GET', PR_METADATA],
    ]
    for (const [method, path] of asked) {
      const response = await call(path, { method }, everythingPublic)
      expect(response.status, `${method} ${path}`).toBe(404)
      expect(((await response.json()) as { error: string }).error).toBe('not_found')
    }
  })
})
