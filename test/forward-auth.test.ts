import { describe, expect, it } from 'vitest'
import { gateway, json, signIn } from './helpers'

const FORWARD_AUTH_TOKEN = 'test-forward-auth-token-0123456789-abcdef'

// What nginx `auth_request`, Caddy `forward_auth` and Traefik `ForwardAuth` send: the browser's
// Cookie header plus the original URI in X-Original-URI / X-Forwarded-Uri.

describe('GET /auth/verify (forward-auth)', () => {
  it('answers 200 with the identity headers, and the assertion only to the proxy', async () => {
    const { cookie, email } = await signIn()
    // A page on the same hostname fetching /auth/verify gets no assertion it could replay.
    const fromPage = await gateway('/auth/verify', { headers: { cookie } })
    expect(fromPage.status).toBe(200)
    expect(fromPage.headers.get('x-auth-assertion')).toBeNull()
    const wrongToken = await gateway('/auth/verify', {
      headers: { cookie, 'x-forward-auth-token': 'not-the-token' },
    })
    expect(wrongToken.headers.get('x-auth-assertion')).toBeNull()
    const response = await gateway('/auth/verify', {
      headers: {
        cookie,
        'x-original-uri': '/app/page?x=1',
        'x-forwarded-method': 'GET',
        'x-forward-auth-token': FORWARD_AUTH_TOKEN,
      },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-auth-email')).toBe(email)
    expect(response.headers.get('x-auth-user')).toMatch(/^prof_/)
    expect(response.headers.get('x-auth-assertion')?.split('.')).toHaveLength(3)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.text()).toBe('')
  })

  it.each([
    ['no cookie', {}],
    [
      'a tampered cookie',
      { cookie: '__Host-session=' + ['A', 'C', 'B'].map((ch) => ch.repeat(43)).join('.') },
    ],
  ])('answers 401 for %s, whatever the forwarded URI says', async (_, headers) => {
    const response = await gateway('/auth/verify', {
      headers: { ...headers, 'x-original-uri': '/public', 'x-forwarded-uri': '/healthz' },
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('x-auth-user')).toBeNull()
  })

  it('answers 401 once the session is signed out', async () => {
    const { cookie } = await signIn()
    await gateway('/auth/logout', json({}, { cookie }))
    expect((await gateway('/auth/verify', { headers: { cookie } })).status).toBe(401)
  })

  it('with ?redirect=1, sends a browser navigation to the sign-in page with a safe returnTo', async () => {
    const navigation = { accept: 'text/html', 'x-forwarded-method': 'GET' }
    const deep = await gateway('/auth/verify?redirect=1', {
      headers: { ...navigation, 'x-forwarded-uri': '/app/reports?q=1' },
    })
    expect(deep.status).toBe(302)
    expect(deep.headers.get('location')).toBe('/auth/login?returnTo=%2Fapp%2Freports%3Fq%3D1')
    const evil = await gateway('/auth/verify?redirect=1', {
      headers: { ...navigation, 'x-forwarded-uri': '//evil.example/x' },
    })
    expect(evil.headers.get('location')).toBe('/auth/login')
    // An API call still gets 401, so it is never redirected.
    const api = await gateway('/auth/verify?redirect=1', {
      headers: { accept: 'application/json', 'x-forwarded-uri': '/api' },
    })
    expect(api.status).toBe(401)
  })
})
