import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import storageDoc from '../STORAGE.md?raw'
import { app } from '../src/index'
import { parseConfig } from '../src/config'
import { LoginPage } from '../src/pages/login'
import { sessionRecordSchema } from '../src/session/record'
import {
  FORM_ACTIONS_WITHOUT_GET,
  METHOD_IDS,
  SIGN_IN_METHODS,
  isCallbackFlow,
  methodOfStored,
  routeParts,
} from '../src/sign-in/methods'
import { SIGN_IN_MODULES } from '../src/sign-in/modules'

// The registry (src/sign-in/methods.ts) names every method once. What it names is deployed data
// and public contract: sessions in KV keep the stored name, ACCESS rules and SIGN_IN_METHODS name
// the id, origins read the `amr`. These must never change under a refactor.

describe('the sign-in method registry', () => {
  it('keeps each method’s id, stored name and amr', () => {
    expect(
      METHOD_IDS.map((id) => [id, SIGN_IN_METHODS[id].stored, SIGN_IN_METHODS[id].amr]),
    ).toEqual([
      ['code', 'magic_auth', 'otp'],
      ['link', 'magic_link', 'email'],
      ['sso', 'sso', 'sso'],
    ])
    for (const id of METHOD_IDS) expect(methodOfStored(SIGN_IN_METHODS[id].stored)).toBe(id)
  })

  it('reads every stored name in a session record, and nothing else', () => {
    const record = {
      v: 1,
      sid: 's',
      userId: 'u',
      email: 'ann@example.com',
      firstName: null,
      lastName: null,
      createdAt: 1,
      expiresAt: 2,
      lastSeenAt: 1,
      idleExpiresAt: 2,
      ip: '203.0.113.7',
      userAgent: '',
    }
    for (const method of ['magic_auth', 'magic_link', 'sso'])
      expect(sessionRecordSchema.safeParse({ ...record, method }).success).toBe(true)
    for (const method of ['code', 'link', 'password', ''])
      expect(sessionRecordSchema.safeParse({ ...record, method }).success).toBe(false)
    expect(storageDoc).toContain('"method": "magic_link"')
  })

  it('serves every route a method names with its module’s handler', () => {
    for (const id of METHOD_IDS) {
      const handlers = SIGN_IN_MODULES[id].routes as Record<string, unknown>
      for (const [name, route] of Object.entries(SIGN_IN_METHODS[id].routes)) {
        const [method, path] = routeParts(route)
        const served = app.routes.find((r) => r.method === method && r.path === path)
        expect(served?.handler, `${id}: ${route}`).toBe(handlers[name])
      }
    }
  })

  it('has a module with callback checks for every method that returns through /auth/callback', () => {
    expect(METHOD_IDS.filter(isCallbackFlow)).toEqual(['link', 'sso'])
    expect(isCallbackFlow('code')).toBe(false)
    expect(isCallbackFlow('__proto__')).toBe(false)
    expect(SIGN_IN_MODULES.link.callback.otherBrowser).toBe('confirm')
    expect(SIGN_IN_MODULES.sso.callback.otherBrowser).not.toBe('confirm')
  })

  it('sends a GET of a login button’s action without a GET route back to the form', () => {
    expect(FORM_ACTIONS_WITHOUT_GET).toEqual(['/auth/magic-auth', '/auth/magic-link'])
  })

  it('draws the login buttons in SIGN_IN_METHODS’s order, each posting to its method', () => {
    const html = String(
      LoginPage({
        productName: 'Gateway',
        methods: parseConfig({ ...base, SIGN_IN_METHODS: 'link,sso,code' }).signInMethods,
        returnTo: '/',
        notice: undefined,
      }),
    )
    const buttons = [...html.matchAll(/<button([^>]*)>([^<]+)</g)].map(([, attributes, label]) => [
      /formaction="([^"]+)"/.exec(attributes!)?.[1] ?? 'form',
      label,
    ])
    expect(buttons).toEqual([
      ['form', 'Email me a sign-in link'],
      ['/auth/sso', 'Use single sign-on'],
      ['/auth/magic-auth', 'Email me a sign-in code'],
    ])
    expect(html).toContain('<form method="post" action="/auth/magic-link">')
    expect(html).toContain(
      'Enter your email and we will send you a code or a link to sign in. If your organization uses single sign-on, you go to its sign-in page instead.',
    )
  })
})

const base = env as unknown as Record<string, unknown>
