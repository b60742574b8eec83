import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import worker from '../src/index'
import { sha256 } from '../src/crypto'
import {
  GATEWAY,
  countingKv,
  gatewayWith,
  json,
  sessionKvKeyOf,
  signIn,
  uniqueEmail,
} from './helpers'
import {
  ACCESS,
  DEVICE_GRANT,
  FORM,
  LOOPBACK_REDIRECT,
  MCP,
  type Tokens,
  answerDevice,
  approvedCode,
  askDevice,
  cliPost,
  consentOf,
  mcpStatus,
  navigate,
  pkce,
  poll,
  register,
  registerCli,
  requestFor,
  revokeRequest,
  startDevice,
  tokenRequest,
  typeCode,
} from './oauth-client'
import { elsewhereKv, homeKv, instance } from './two-instances'

// The device grant (RFC 8628), dynamic registration, revocation and discovery, attacked black-box
// over HTTP: an internet client with no account, a signed-in person going after another person's
// device, a malicious registered client, a malicious origin behind the gateway, and a thief
// holding a device code or a token. test/oauth-device.test.ts and test/attack-oauth.test.ts cover
// the flows themselves; this file goes after what they leave.

afterEach(() => {
  vi.useRealTimers()
})

async function errorOf(response: Response): Promise<string> {
  const body = (await response.json()) as { error: string }
  return body.error
}

async function consentFor(cookie: string, userCode: string): Promise<string> {
  const page = await typeCode(cookie, userCode)
  expect(page.status).toBe(200)
  return consentOf(await page.text())
}

/** A person's approved device request, and the tokens its command line polled for. */
async function deviceTokens(cookie: string, resource = MCP) {
  const clientId = await registerCli()
  const device = await startDevice(clientId, resource)
  const approved = await answerDevice(cookie, await consentFor(cookie, device.user_code), 'approve')
  expect(approved.status).toBe(200)
  const polled = await poll(clientId, device.device_code)
  expect(polled.status).toBe(200)
  return { clientId, device, tokens: (await polled.json()) as Tokens }
}

const randomHex = () => Math.floor(Math.random() * 0xffff).toString(16)

const signOutEverywhere = async (cookie: string) => {
  const out = await gatewayWith({ ACCESS }, '/auth/logout', json({ everywhere: true }, { cookie }))
  expect(out.status).toBe(200)
}

describe('an internet client with no account', () => {
  it('names a resource only by its exact identifier: case, port, slash, dot segments, escapes, userinfo, fragment, query or scheme variants are invalid_target', async () => {
    const clientId = await registerCli()
    const variants = [
      'https://GATEWAY.test/mcp',
      'https://gateway.test:443/mcp',
      'https://gateway.test./mcp',
      'https://gateway.test/mcp/',
      'https://gateway.test/MCP',
      'https://gateway.test/./mcp',
      'https://gateway.test/x/../mcp',
      'https://gateway.test/%6Dcp',
      'https://gateway.test/mcp%2F',
      'https://user@gateway.test/mcp',
      'https://gateway.test/mcp#',
      'https://gateway.test/mcp?',
      'http://gateway.test/mcp',
      ' https://gateway.test/mcp',
      'https://gateway.test/mcp ',
      'https://gateway.test\\mcp',
      '//gateway.test/mcp',
      '/mcp',
    ]
    for (const resource of variants) {
      const response = await askDevice({ client_id: clientId, resource })
      expect(response.status, resource).toBe(400)
      expect(await errorOf(response), resource).toBe('invalid_target')
    }
    // The identifier itself still works.
    expect((await askDevice({ client_id: clientId, resource: MCP })).status).toBe(200)
  })

  it('a body over 16 KB is refused (413) by registration, device authorization, token and revocation, and writes nothing', async () => {
    const { counts, binding } = countingKv()
    const big = 'x'.repeat(17 * 1024)
    const asks: [string, RequestInit][] = [
      [
        '/auth/oauth/register',
        json({ client_name: 'Big', redirect_uris: ['http://127.0.0.1/cb'], padding: big }),
      ],
      ...['/auth/oauth/device_authorization', '/auth/oauth/token', '/auth/oauth/revoke'].map(
        (path): [string, RequestInit] => [
          path,
          {
            method: 'POST',
            headers: { 'content-type': FORM },
            body: `client_id=gwc_AAAAAAAAAAAAAAAAAAAAAA&token=x&padding=${big}`,
          },
        ],
      ),
    ]
    for (const [path, init] of asks) {
      const response = await gatewayWith({ ACCESS, SESSIONS: binding }, path, init)
      expect(response.status, path).toBe(413)
      await response.body?.cancel()
    }
    // …and streamed without a length, it is cut off all the same.
    const streamed = await gatewayWith({ ACCESS, SESSIONS: binding }, '/auth/oauth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([`{"redirect_uris":["http://127.0.0.1/cb"],"p":"${big}"}`]).stream(),
      // @ts-expect-error workerd's RequestInit takes duplex for a streamed body
      duplex: 'half',
    })
    expect(streamed.status).toBe(413)
    await streamed.body?.cancel()
    expect(counts.put).toBe(0)
  })

  it('registration: only a loopback host by its name or address is plain http; anything that merely looks local, or another scheme, is refused', async () => {
    const registerUris = (redirect_uris: string[]) =>
      gatewayWith({ ACCESS }, '/auth/oauth/register', json({ redirect_uris }))
    const refused = [
      'http://0.0.0.0:8080/cb',
      'http://localhost./cb',
      'http://localhost.localdomain/cb',
      'http://127.0.0.2/cb',
      'http://[::ffff:127.0.0.1]/cb',
      'http://[::]/cb',
      'http://10.0.0.1/cb',
      'http://169.254.169.254/latest',
      'http://127.0.0.1%2f@evil.example/cb',
      'com.example.app:/oauth2redirect',
      'vbscript:msgbox(1)',
      'ws://127.0.0.1/cb',
      'ftp://127.0.0.1/cb',
      'https://app.example/cb\u0000',
      'https://аpp.example/cb',
    ]
    for (const uri of refused) {
      const response = await registerUris([uri])
      expect(response.status, uri).toBe(400)
      expect(await errorOf(response), uri).toBe('invalid_redirect_uri')
    }
    // Eleven URIs are one too many, even all good ones.
    const eleven = Array.from({ length: 11 }, (_, i) => `http://127.0.0.1/cb${i}`)
    expect(await errorOf(await registerUris(eleven))).toBe('invalid_redirect_uri')
    // The same loopback address spelled otherwise is still the person's own machine.
    for (const uri of [
      'http://127.1/cb',
      'http://[0:0:0:0:0:0:0:1]:9/cb',
      'http://LOCALHOST/cb',
      'http://%6cocalhost/cb',
    ])
      expect((await registerUris([uri])).status, uri).toBe(201)
  })

  it('a punycode redirect host is shown as punycode on the consent page, never as the letters it imitates', async () => {
    // xn--pple-43d.com is "аpple.com" with a Cyrillic "а".
    const clientId = await register(['https://xn--pple-43d.com/cb'], 'Apple')
    const { cookie } = await signIn()
    const { challenge } = await pkce()
    const page = await navigate(
      requestFor(clientId, challenge, {
        redirect_uri: 'https://xn--pple-43d.com/cb',
      }),
      cookie,
    )
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('xn--pple-43d.com')
    expect(html).not.toContain('аpple.com')
  })

  it('refused registrations and device requests past the limit write nothing to KV', async () => {
    const { counts, binding } = countingKv()
    const from = { 'cf-connecting-ip': '192.0.2.201' }
    const settings = { ACCESS, SESSIONS: binding }
    const clientId = await registerCli()
    for (let i = 0; i < 10; i++)
      await (
        await gatewayWith(
          settings,
          '/auth/oauth/register',
          json({ grant_types: [DEVICE_GRANT] }, from),
        )
      ).body?.cancel()
    for (let i = 0; i < 10; i++)
      await (
        await cliPost(
          '/auth/oauth/device_authorization',
          { client_id: clientId, resource: MCP },
          from,
          { SESSIONS: binding },
        )
      ).body?.cancel()
    const before = { ...counts }
    for (let i = 0; i < 5; i++) {
      const registration = await gatewayWith(
        settings,
        '/auth/oauth/register',
        json({ grant_types: [DEVICE_GRANT] }, from),
      )
      expect(registration.status).toBe(429)
      await registration.body?.cancel()
      const device = await cliPost(
        '/auth/oauth/device_authorization',
        { client_id: clientId, resource: MCP },
        from,
        { SESSIONS: binding },
      )
      expect(device.status).toBe(429)
      await device.body?.cancel()
    }
    expect(counts.put - before.put).toBe(0)
    expect(counts.get - before.get).toBe(0)
  })

  it('the discovery documents say nothing of who may use a route: a route open to one address reads like an open one', async () => {
    const document = async (path: string) => {
      const response = await gatewayWith({ ACCESS }, `/.well-known/oauth-protected-resource${path}`)
      expect(response.status, path).toBe(200)
      return (await response.json()) as Record<string, unknown>
    }
    const open = await document('/mcp')
    const restricted = await document('/ops')
    expect(Object.keys(restricted).sort()).toEqual(Object.keys(open).sort())
    expect(Object.keys(open).sort()).toEqual([
      'authorization_servers',
      'bearer_methods_supported',
      'resource',
      'resource_name',
    ])
    expect(JSON.stringify(restricted)).not.toMatch(/@|allow|email|203\.0\.113/)
  })

  it('user codes are 8 of 20 consonants drawn evenly, and never repeat', async () => {
    const clientId = await registerCli()
    const letters = new Map<string, number>()
    const seen = new Set<string>()
    const CODES = 100
    for (let i = 0; i < CODES; i++) {
      const { user_code } = await startDevice(clientId)
      expect(seen.has(user_code)).toBe(false)
      seen.add(user_code)
      for (const letter of user_code.replace('-', ''))
        letters.set(letter, (letters.get(letter) ?? 0) + 1)
    }
    expect([...letters.keys()].sort().join('')).toBe('BCDFGHJKLMNPQRSTVWXZ')
    // χ² over 20 letters (19 degrees of freedom): 60 is past p = 10⁻⁵ for an even draw.
    const expected = (CODES * 8) / 20
    const chiSquare = [...letters.values()].reduce(
      (sum, n) => sum + (n - expected) ** 2 / expected,
      0,
    )
    expect(chiSquare).toBeLessThan(60)
  })
})

describe('a signed-in person going after another person’s device', () => {
  it('a prefilled link connects nothing and tells nothing: a live code and an unknown one give the same page, and the request stays pending', async () => {
    const { cookie } = await signIn()
    const clientId = await registerCli()
    const device = await startDevice(clientId)
    const pageFor = async (userCode: string) => {
      const response = await navigate(`/auth/device?user_code=${userCode}`, cookie)
      expect(response.status).toBe(200)
      return (await response.text()).replaceAll(userCode, 'CODE')
    }
    expect(await pageFor(device.user_code)).toBe(await pageFor('BBBB-BBBB'))
    expect(await errorOf(await poll(clientId, device.device_code))).toBe('authorization_pending')
  })

  it('markup in a linked or typed code is neither run nor prefilled raw', async () => {
    const { cookie } = await signIn()
    const payload = '"><img src=x onerror=alert(1)>'
    const linked = await navigate(`/auth/device?user_code=${encodeURIComponent(payload)}`, cookie)
    expect(linked.status).toBe(200)
    expect(await linked.text()).not.toContain('onerror')
    const typed = await typeCode(cookie, payload)
    expect(typed.status).toBe(400)
    const html = await typed.text()
    expect(html).not.toContain('<img')
    expect(html).not.toMatch(/value=""><img/)
  })

  it('the code and consent pages cannot be framed or cached, and refuse a frame’s or a script’s request', async () => {
    const { cookie } = await signIn()
    const device = await startDevice(await registerCli())
    const form = await navigate('/auth/device', cookie)
    const consentPage = await typeCode(cookie, device.user_code)
    for (const page of [form, consentPage]) {
      expect(page.status).toBe(200)
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      expect(page.headers.get('cache-control')).toBe('no-store')
      await page.body?.cancel()
    }
    for (const destination of ['iframe', 'frame', 'embed', 'object', 'empty']) {
      const framed = await navigate('/auth/device', cookie, { 'sec-fetch-dest': destination })
      expect(framed.status, destination).toBe(403)
      await framed.body?.cancel()
      const typed = await typeCode(cookie, device.user_code, { 'sec-fetch-dest': destination })
      expect(typed.status, destination).toBe(403)
      await typed.body?.cancel()
    }
  })

  it('a cross-site form cannot type a code or answer: no Origin, Origin null, another site, or Sec-Fetch-Site cross-site', async () => {
    const { cookie } = await signIn()
    const clientId = await registerCli()
    const device = await startDevice(clientId)
    const consent = await consentFor(cookie, device.user_code)
    const forged: Record<string, string>[] = [
      { origin: '' },
      { origin: 'null' },
      { origin: 'https://gateway.test.evil.example' },
      { origin: 'http://gateway.test' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'same-site' },
    ]
    for (const headers of forged) {
      const init = (fields: Record<string, string>): RequestInit => {
        const h: Record<string, string> = {
          'content-type': FORM,
          accept: 'text/html',
          'sec-fetch-dest': 'document',
          cookie,
          ...headers,
        }
        if (h.origin === '') delete h.origin
        return { method: 'POST', headers: h, body: new URLSearchParams(fields).toString() }
      }
      const typed = await gatewayWith(
        { ACCESS },
        '/auth/device',
        init({ user_code: device.user_code }),
      )
      expect(typed.status, JSON.stringify(headers)).toBe(403)
      await typed.body?.cancel()
      const answered = await gatewayWith(
        { ACCESS },
        '/auth/device/consent',
        init({ consent, decision: 'approve' }),
      )
      expect(answered.status, JSON.stringify(headers)).toBe(403)
      await answered.body?.cancel()
    }
    expect(await errorOf(await poll(clientId, device.device_code))).toBe('authorization_pending')
  })

  it('a code answered by one person cannot be answered again by another, nor by the first person’s older page', async () => {
    const starter = await signIn()
    const other = await signIn()
    const clientId = await registerCli()
    const device = await startDevice(clientId)
    const startersPage = await consentFor(starter.cookie, device.user_code)
    const othersPage = await consentFor(other.cookie, device.user_code)
    expect((await answerDevice(other.cookie, othersPage, 'deny')).status).toBe(200)
    expect((await answerDevice(starter.cookie, startersPage, 'approve')).status).toBe(400)
    const again = await typeCode(starter.cookie, device.user_code)
    expect(again.status).toBe(400)
    expect(await again.text()).not.toContain('name="consent"')
    expect(await errorOf(await poll(clientId, device.device_code))).toBe('access_denied')
  })

  it('wrong codes sent all at once from one address: the burst limit holds under concurrency (at most two 10-s windows’ worth are looked up)', async () => {
    const people = [await signIn(), await signIn()]
    // A fresh IPv6 /64: its own limiter buckets.
    const from = { 'cf-connecting-ip': `2001:db8:${randomHex()}:${randomHex()}::1` }
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => typeCode(people[i % 2]!.cookie, 'FFFF-FFFF', from)),
    )
    const statuses = answers.map((a) => a.status)
    await Promise.all(answers.map((a) => a.body?.cancel()))
    // The limiter counts in fixed 10-s windows: a burst that straddles a boundary meets two. The
    // KV hourly counter alone would let all 40 through (its increments race); this does not.
    expect(statuses.filter((s) => s === 400).length).toBeLessThanOrEqual(20)
    expect(statuses.filter((s) => s !== 400).every((s) => s === 429)).toBe(true)
  })

  it('an address-bound route decides the person’s approval by the browser’s address, and every token request by its own', async () => {
    const { cookie } = await signIn()
    const office = `${GATEWAY}/office`
    const outside = { 'cf-connecting-ip': '198.51.100.7' }
    const inside = { 'cf-connecting-ip': '203.0.113.7' }
    // From outside the office, the person is refused, whatever the device's address.
    const refusedDevice = await startDevice(await registerCli(), office)
    const refused = await typeCode(cookie, refusedDevice.user_code, outside)
    expect(refused.status).toBe(403)
    await refused.body?.cancel()
    // From inside, approved; the token then opens the route from inside only.
    const clientId = await registerCli()
    const device = await startDevice(clientId, office)
    const page = await typeCode(cookie, device.user_code, inside)
    expect(page.status).toBe(200)
    const approved = await answerDevice(cookie, consentOf(await page.text()), 'approve', inside)
    expect(approved.status).toBe(200)
    const { access_token } = (await (await poll(clientId, device.device_code)).json()) as Tokens
    const use = async (headers: Record<string, string>) => {
      const response = await gatewayWith({ ACCESS }, '/office/x', {
        headers: {
          authorization: `Bearer ${access_token}`,
          accept: 'application/json',
          ...headers,
        },
      })
      await response.body?.cancel()
      return response.status
    }
    expect(await use(inside)).toBe(200)
    expect(await use(outside)).not.toBe(200)
  })
})

describe('a thief with a device code or a device’s token', () => {
  it('an approved device code polled after its person signed out everywhere gets nothing; tokens polled before end with it, refresh included', async () => {
    const { cookie } = await signIn()
    const pendingClient = await registerCli()
    const pending = await startDevice(pendingClient)
    expect(
      (await answerDevice(cookie, await consentFor(cookie, pending.user_code), 'approve')).status,
    ).toBe(200)
    const { clientId, tokens } = await deviceTokens(cookie)
    expect(await mcpStatus(tokens.access_token)).toBe(200)
    await signOutEverywhere(cookie)
    expect(await errorOf(await poll(pendingClient, pending.device_code))).toBe('access_denied')
    expect(await mcpStatus(tokens.access_token)).toBe(401)
    const refreshed = await tokenRequest({
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: tokens.refresh_token,
    })
    expect(await errorOf(refreshed)).toBe('invalid_grant')
  })

  it('a device grant’s refresh token replayed after rotation ends the grant, the new pair included', async () => {
    const { cookie } = await signIn()
    const { clientId, tokens } = await deviceTokens(cookie)
    const refresh = (refresh_token: string) =>
      tokenRequest({
        grant_type: 'refresh_token',
        client_id: clientId,
        refresh_token,
      })
    const rotated = await refresh(tokens.refresh_token)
    expect(rotated.status).toBe(200)
    const pair = (await rotated.json()) as Tokens
    expect(await mcpStatus(pair.access_token)).toBe(200)
    expect(await errorOf(await refresh(tokens.refresh_token))).toBe('invalid_grant')
    expect(await mcpStatus(pair.access_token)).toBe(401)
    expect(await errorOf(await refresh(pair.refresh_token))).toBe('invalid_grant')
  })

  it('a device code or a user code given to the revocation endpoint revokes nothing, and the device still gets its tokens', async () => {
    const { cookie } = await signIn()
    const clientId = await registerCli()
    const device = await startDevice(clientId)
    await answerDevice(cookie, await consentFor(cookie, device.user_code), 'approve')
    for (const token of [device.device_code, device.user_code, device.user_code.replace('-', '')])
      expect((await revokeRequest({ token, client_id: clientId })).status).toBe(200)
    const polled = await poll(clientId, device.device_code)
    expect(polled.status).toBe(200)
    const { access_token } = (await polled.json()) as Tokens
    expect(await mcpStatus(access_token)).toBe(200)
  })

  it('a token revoked with another client’s id lives on; without any client id, its own grant ends', async () => {
    const { cookie } = await signIn()
    const { tokens } = await deviceTokens(cookie)
    const other = await registerCli('Other CLI')
    expect((await revokeRequest({ token: tokens.refresh_token, client_id: other })).status).toBe(
      200,
    )
    expect(await mcpStatus(tokens.access_token)).toBe(200)
    const answer = await revokeRequest({ token: tokens.refresh_token })
    expect(answer.status).toBe(200)
    expect(await answer.text()).toBe('')
    expect(await mcpStatus(tokens.access_token)).toBe(401)
  })

  it('a device’s token opens its resource on its own host and scheme only: not the same route on another host, port or over http', async () => {
    const { cookie } = await signIn()
    const { tokens } = await deviceTokens(cookie)
    const at = async (url: string) => {
      const ctx = createExecutionContext()
      const response = await worker.fetch(
        new Request(url, {
          redirect: 'manual',
          headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json' },
        }),
        { ...env, ACCESS } as Env,
        ctx,
      )
      await waitOnExecutionContext(ctx)
      await response.body?.cancel()
      return response.status
    }
    expect(await at(`${GATEWAY}/mcp/tools`)).toBe(200)
    for (const url of [
      'https://other.gateway.test/mcp/tools',
      'https://gateway.test:8443/mcp/tools',
      'http://gateway.test/mcp/tools',
    ])
      expect(await at(url), url).not.toBe(200)
  })

  it('no device code, user code, token or consent seal appears in any log line of the whole flow', async () => {
    const logged = vi.spyOn(console, 'log')
    const { cookie } = await signIn()
    const clientId = await registerCli()
    const device = await startDevice(clientId)
    await navigate(`/auth/device?user_code=${device.user_code}`, cookie)
    await navigate(`/auth/device?user_code=${device.user_code}`)
    await typeCode(cookie, 'BBBB-BBBB')
    const consent = await consentFor(cookie, device.user_code)
    await poll(clientId, device.device_code)
    await answerDevice(cookie, consent, 'approve')
    const polled = await poll(clientId, device.device_code)
    const tokens = (await polled.json()) as Tokens
    await poll(clientId, device.device_code)
    await revokeRequest({ token: tokens.refresh_token })
    const lines = logged.mock.calls.map((call) => call.map(String).join(' ')).join('\n')
    logged.mockRestore()
    expect(lines).toContain('oauth_device_code_issued')
    for (const secret of [
      device.device_code,
      device.user_code,
      device.user_code.replace('-', ''),
      consent,
      tokens.access_token,
      tokens.refresh_token,
    ])
      expect(lines).not.toContain(secret)
  })
})

describe('a malicious origin on an app host (SIGN_IN_HOST)', () => {
  const SETTINGS = {
    ACCESS,
    SIGN_IN_HOST: 'gateway.test',
    ALLOWED_HOSTS: 'gateway.test, app.gateway.test',
  }
  const onHost = async (url: string, init: RequestInit = {}) => {
    const ctx = createExecutionContext()
    const response = await worker.fetch(
      new Request(url, { redirect: 'manual', ...init }),
      { ...env, ...SETTINGS } as Env,
      ctx,
    )
    await waitOnExecutionContext(ctx)
    return response
  }

  it('cannot show, type into or answer the device pages on its host: they are the sign-in host’s alone', async () => {
    const { cookie } = await signIn()
    const app = 'https://app.gateway.test'
    const page = { accept: 'text/html', 'sec-fetch-dest': 'document', cookie }
    const post = (body: string) => ({
      method: 'POST',
      headers: { ...page, 'content-type': FORM, origin: app },
      body,
    })
    for (const [path, init] of [
      ['/auth/device?user_code=BCDF-GHJK', { headers: page }],
      ['/auth/device', post('user_code=BCDF-GHJK')],
      ['/auth/device/consent', post('consent=x&decision=approve')],
      ['/auth/oauth/device_authorization', post('client_id=x')],
    ] as [string, RequestInit][]) {
      const response = await onHost(`${app}${path}`, init)
      expect(response.status, path).toBe(404)
      await response.body?.cancel()
    }
  })

  it('cannot post the sign-in host’s device forms from its pages (same site, another origin)', async () => {
    const { cookie } = await signIn()
    const response = await onHost(`${GATEWAY}/auth/device`, {
      method: 'POST',
      headers: {
        'content-type': FORM,
        accept: 'text/html',
        'sec-fetch-dest': 'document',
        'sec-fetch-site': 'same-site',
        origin: 'https://app.gateway.test',
        cookie,
      },
      body: 'user_code=BCDF-GHJK',
    })
    expect(response.status).toBe(403)
    await response.body?.cancel()
  })
})

describe('found by the review, and closed', () => {
  it('a client name carrying U+061C (Arabic letter mark, a text-direction mark) is refused', async () => {
    const response = await gatewayWith(
      { ACCESS },
      '/auth/oauth/register',
      json({ client_name: 'Claude\u061C Desktop', redirect_uris: ['http://127.0.0.1/cb'] }),
    )
    expect(response.status).toBe(400)
  })

  it('an access token revoked after its hour still ends its grant: the refresh token stops too', async () => {
    const { cookie } = await signIn()
    const { clientId, tokens } = await deviceTokens(cookie)
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3601_000 })
    const revoked = await revokeRequest({ token: tokens.access_token, client_id: clientId })
    expect(revoked.status).toBe(200)
    const refreshed = await tokenRequest({
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: tokens.refresh_token,
    })
    expect(refreshed.status).toBe(400)
    expect(await errorOf(refreshed)).toBe('invalid_grant')
  })

  it('a device polled in another location after the approving sign-in ended gets no tokens, as a code exchange gets none', async () => {
    const { cookie } = await signIn(uniqueEmail('elsewhere-device'))
    const clientId = await registerCli()
    const device = await startDevice(clientId)
    const approved = await answerDevice(
      cookie,
      await consentFor(cookie, device.user_code),
      'approve',
    )
    expect(approved.status).toBe(200)
    const codeClient = await register()
    const { verifier, challenge } = await pkce()
    const code = await approvedCode(cookie, codeClient, challenge)
    // What KV replication would have brought the other location by now.
    for (const key of [
      `oauth-client:${clientId}`,
      `oauth-client:${codeClient}`,
      `oauth-device:${await sha256(device.device_code)}`,
      `oauth-code:${await sha256(code)}`,
      await sessionKvKeyOf(cookie),
    ]) {
      const value = await homeKv.get(key)
      expect(value, key).not.toBeNull()
      await elsewhereKv.put(key, value!, { expirationTtl: 3600 })
    }
    // The person signs out of that browser at home: the end is recorded at the authority.
    expect((await gatewayWith({ ACCESS }, '/auth/logout', json({}, { cookie }))).status).toBe(200)
    const elsewhere = instance({ SESSIONS: elsewhereKv, ACCESS })
    const post = (fields: Record<string, string>) =>
      elsewhere('/auth/oauth/token', {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: new URLSearchParams(fields).toString(),
      })
    const polled = await post({
      grant_type: DEVICE_GRANT,
      client_id: clientId,
      device_code: device.device_code,
    })
    expect(polled.status).toBe(400)
    expect(await errorOf(polled)).toBe('access_denied')
    const exchanged = await post({
      grant_type: 'authorization_code',
      client_id: codeClient,
      code,
      code_verifier: verifier,
      redirect_uri: LOOPBACK_REDIRECT,
    })
    expect(exchanged.status).toBe(400)
    expect(await errorOf(exchanged)).toBe('invalid_grant')
  })
})
