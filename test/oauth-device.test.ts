import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { sha256 } from '../src/crypto'
import { GATEWAY, gatewayWith, json, sessionKvKeyOf, signIn, uniqueEmail } from './helpers'
import {
  ACCESS,
  DEVICE_GRANT,
  FORM,
  MCP,
  OPS_EMAIL,
  type DeviceAnswer,
  answerDevice,
  askDevice,
  consentOf,
  mcpStatus,
  navigate,
  poll,
  register,
  registerCli,
  startDevice,
  typeCode,
} from './oauth-client'

// The device grant (RFC 8628) as a command line and a person drive it: the command line registers,
// asks POST /auth/oauth/device_authorization for a device code and a user code, and polls the
// token endpoint; the person, signed in in a browser, types the user code on /auth/device, reads
// the consent page and answers.

afterEach(() => {
  vi.useRealTimers()
})

/** An RFC 6749 §5.2 error: status, `error`, and never cached. */
async function oauthError(response: Response, error: string, status = 400) {
  expect(response.status).toBe(status)
  expect(response.headers.get('cache-control')).toBe('no-store')
  const body = (await response.json()) as { error: string; error_description: string }
  expect(body.error).toBe(error)
  expect(body.error_description).toBeTruthy()
}

/** The consent page for a typed code: its HTML (checked to be one). */
async function consentPageFor(cookie: string, userCode: string): Promise<string> {
  const page = await typeCode(cookie, userCode)
  expect(page.status).toBe(200)
  const html = await page.text()
  expect(html).toContain('name="consent"')
  return html
}

/** A signed-in person and a command line whose device request they approved. */
async function approvedDevice(email = uniqueEmail('device')) {
  const { cookie } = await signIn(email)
  const clientId = await registerCli()
  const device = await startDevice(clientId)
  const approved = await answerDevice(
    cookie,
    consentOf(await consentPageFor(cookie, device.user_code)),
    'approve',
  )
  expect(approved.status).toBe(200)
  return { cookie, clientId, device }
}

describe('POST /auth/oauth/device_authorization', () => {
  it('answers a device code, a user code of 8 consonants shown as XXXX-XXXX, the verification URIs, expires_in 600 and interval 5, never cached', async () => {
    const clientId = await registerCli()
    const response = await askDevice({ client_id: clientId, resource: MCP, scope: 'tools' })
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    const device = (await response.json()) as DeviceAnswer
    expect(device.device_code).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(device.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
    expect(device.verification_uri).toBe(`${GATEWAY}/auth/device`)
    expect(device.verification_uri_complete).toBe(
      `${GATEWAY}/auth/device?user_code=${device.user_code}`,
    )
    expect(device.expires_in).toBe(600)
    expect(device.interval).toBe(5)
    // KV holds the request under the device code's hash only, and no user code in clear.
    const stored = await env.SESSIONS.get(`oauth-device:${await sha256(device.device_code)}`)
    expect(stored).not.toBeNull()
    expect(stored).not.toContain(device.device_code)
    expect(stored).not.toContain(device.user_code.replace('-', ''))
    const codeKey = `oauth-user-code:${await sha256(device.user_code.replace('-', ''))}`
    expect(await env.SESSIONS.get(codeKey)).toBe(await sha256(device.device_code))
    // Two requests never share a code.
    const other = await startDevice(clientId)
    expect(other.user_code).not.toBe(device.user_code)
    expect(other.device_code).not.toBe(device.device_code)
  })

  it('resource is required and must be an application that takes tokens: invalid_target', async () => {
    const clientId = await registerCli()
    await oauthError(await askDevice({ client_id: clientId }), 'invalid_target')
    for (const resource of [
      'https://other.example/mcp',
      `${MCP}/tools`,
      `${GATEWAY}/browser-only`,
      `${MCP}?x=1`,
    ])
      await oauthError(await askDevice({ client_id: clientId, resource }), 'invalid_target')
  })

  it('a client that did not register the device grant is unauthorized_client, at both endpoints; an unknown one is invalid_client', async () => {
    const codeOnly = await register()
    await oauthError(await askDevice({ client_id: codeOnly, resource: MCP }), 'unauthorized_client')
    const device = await startDevice(await registerCli())
    await oauthError(await poll(codeOnly, device.device_code), 'unauthorized_client')
    await oauthError(
      await askDevice({ client_id: 'gwc_AAAAAAAAAAAAAAAAAAAAAA', resource: MCP }),
      'invalid_client',
      401,
    )
    await oauthError(await askDevice({ resource: MCP }), 'invalid_client', 401)
  })

  it('is rate limited per client address: 10 a minute, then 429 with Retry-After', async () => {
    const clientId = await registerCli()
    const from = { 'cf-connecting-ip': '192.0.2.77' }
    for (let i = 0; i < 10; i++) {
      const response = await askDevice({ client_id: clientId, resource: MCP }, from)
      expect(response.status, `request ${i + 1}`).toBe(200)
    }
    const limited = await askDevice({ client_id: clientId, resource: MCP }, from)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(await limited.json()).toMatchObject({ error: 'too_many_requests' })
    // Another address is not held back, nor are registrations from this one (counted apart).
    const elsewhere = await askDevice({ client_id: clientId, resource: MCP })
    expect(elsewhere.status).toBe(200)
    const registration = await gatewayWith(
      { ACCESS },
      '/auth/oauth/register',
      json({ grant_types: [DEVICE_GRANT] }, from),
    )
    expect(registration.status).toBe(201)
  })
})

describe('polling the token endpoint', () => {
  it('pending → authorization_pending; sooner than the interval → slow_down, and the interval grows by 5 s', async () => {
    const clientId = await registerCli()
    const { device_code } = await startDevice(clientId)
    const start = Date.now()
    await oauthError(await poll(clientId, device_code), 'authorization_pending')
    await oauthError(await poll(clientId, device_code), 'slow_down')
    // 6 s later was enough at 5 s; the interval is now 10 s.
    vi.useFakeTimers({ toFake: ['Date'], now: start + 6_000 })
    await oauthError(await poll(clientId, device_code), 'slow_down')
    // Now 15 s: waiting that long is pending again.
    vi.setSystemTime(start + 6_000 + 15_000)
    await oauthError(await poll(clientId, device_code), 'authorization_pending')
    // A poll may name the resource: only its own.
    vi.setSystemTime(start + 6_000 + 15_000 + 15_000)
    await oauthError(
      await poll(clientId, device_code, { resource: `${GATEWAY}/` }),
      'invalid_target',
    )
  })

  it('expired → expired_token, and so is an unknown or malformed device code', async () => {
    const clientId = await registerCli()
    const { device_code } = await startDevice(clientId)
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 601_000 })
    await oauthError(await poll(clientId, device_code), 'expired_token')
    vi.useRealTimers()
    await oauthError(await poll(clientId, 'A'.repeat(43)), 'expired_token')
    await oauthError(await poll(clientId, 'not-a-device-code'), 'expired_token')
    await oauthError(
      await gatewayWith({ ACCESS }, '/auth/oauth/token', {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: new URLSearchParams({ grant_type: DEVICE_GRANT, client_id: clientId }).toString(),
      }),
      'invalid_request',
    )
  })

  it('a device code polled by another client is invalid_grant, and stays its own client’s', async () => {
    const { cookie } = await signIn()
    const clientId = await registerCli()
    const thief = await registerCli('Another CLI')
    const device = await startDevice(clientId)
    await oauthError(await poll(thief, device.device_code), 'invalid_grant')
    await answerDevice(cookie, consentOf(await consentPageFor(cookie, device.user_code)), 'approve')
    await oauthError(await poll(thief, device.device_code), 'invalid_grant')
    expect((await poll(clientId, device.device_code)).status).toBe(200)
  })

  it('approved: the tokens once; polled again, invalid_grant, and the grant the first poll made ends', async () => {
    const { clientId, device } = await approvedDevice()
    const first = await poll(clientId, device.device_code)
    expect(first.status).toBe(200)
    expect(first.headers.get('cache-control')).toBe('no-store')
    const tokens = (await first.json()) as { access_token: string; token_type: string }
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number) })
    expect(tokens.access_token).toMatch(/^gwat_/)
    expect(tokens).toHaveProperty('refresh_token')
    expect(await mcpStatus(tokens.access_token)).toBe(200)
    // The device code is spent: a replay (a copy of it) gets nothing, and ends what it made.
    await oauthError(await poll(clientId, device.device_code), 'invalid_grant')
    expect(await mcpStatus(tokens.access_token)).toBe(401)
  })

  it('two polls at the same moment (a thief racing the device): at most one live token', async () => {
    const { clientId, device } = await approvedDevice()
    const answers = await Promise.all([
      poll(clientId, device.device_code),
      poll(clientId, device.device_code),
    ])
    const live = []
    for (const answer of answers) {
      if (answer.status !== 200) continue
      const { access_token } = (await answer.json()) as { access_token: string }
      if ((await mcpStatus(access_token)) === 200) live.push(access_token)
    }
    expect(live.length).toBeLessThanOrEqual(1)
  })

  it('the approved token acts as the person on its resource through the gateway, and is refused on another', async () => {
    const email = uniqueEmail('device-token')
    const { clientId, device } = await approvedDevice(email)
    const { access_token } = (await (await poll(clientId, device.device_code)).json()) as {
      access_token: string
    }
    const onMcp = await gatewayWith({ ACCESS }, '/mcp/tools', {
      headers: { authorization: `Bearer ${access_token}`, accept: 'application/json' },
    })
    expect(onMcp.status).toBe(200)
    const seen = (await onMcp.json()) as { headers: Record<string, string> }
    expect(seen.headers['x-auth-email']).toBe(email)
    expect(seen.headers.authorization).toBeUndefined()
    const elsewhere = await gatewayWith({ ACCESS }, '/reports', {
      headers: { authorization: `Bearer ${access_token}`, accept: 'application/json' },
    })
    expect(elsewhere.status).toBe(401)
    expect(await elsewhere.json()).toMatchObject({ error: 'invalid_token' })
  })

  it('Deny on the consent page → access_denied, and the code cannot be used again', async () => {
    const { cookie } = await signIn()
    const clientId = await registerCli()
    const device = await startDevice(clientId)
    const consent = consentOf(await consentPageFor(cookie, device.user_code))
    const denied = await answerDevice(cookie, consent, 'deny')
    expect(denied.status).toBe(200)
    expect(await denied.text()).toContain('Device not connected')
    await oauthError(await poll(clientId, device.device_code), 'access_denied')
    // Neither the code nor the consent form can turn it into an approval.
    const again = await typeCode(cookie, device.user_code)
    expect(again.status).toBe(400)
    expect(await again.text()).toContain('already used')
    expect((await answerDevice(cookie, consent, 'approve')).status).toBe(400)
    await oauthError(await poll(clientId, device.device_code), 'access_denied')
  })

  it('the sign-in that approved has ended before the poll: access_denied, no tokens', async () => {
    const { cookie, clientId, device } = await approvedDevice()
    const logout = await gatewayWith({ ACCESS }, '/auth/logout', {
      method: 'POST',
      headers: { 'content-type': FORM, origin: GATEWAY, cookie },
      body: '',
    })
    expect(logout.status).toBeLessThan(400)
    await oauthError(await poll(clientId, device.device_code), 'access_denied')
  })
})

describe('the verification page', () => {
  it('a person not signed in is sent to sign in, and comes back to the code', async () => {
    const response = await navigate('/auth/device?user_code=bcdf-ghjk')
    expect(response.status).toBe(302)
    const back = '/auth/device?user_code=BCDF-GHJK'
    expect(response.headers.get('location')).toBe(
      `/auth/login?returnTo=${encodeURIComponent(back)}`,
    )
    const { cookie, location } = await signIn(uniqueEmail('device-login'), back)
    expect(location).toBe(back)
    const page = await navigate(back, cookie)
    expect(page.status).toBe(200)
    const html = await page.text()
    // Prefilled, and still a form to submit: a link alone connects nothing.
    expect(html).toContain('value="BCDF-GHJK"')
    expect(html).toContain('action="/auth/device"')
    expect(html).not.toContain('name="consent"')
  })

  it('takes the code in any case, with or without the dash; the consent page names the client as its own claim, the application, the account and the code, never the device code', async () => {
    const email = uniqueEmail('device-consent')
    const { cookie } = await signIn(email)
    const device = await startDevice(await registerCli('Deploy Bot CLI'))
    const typed = ` ${device.user_code.replace('-', '').toLowerCase()} `
    const html = await consentPageFor(cookie, typed)
    expect(html).toContain('Deploy Bot CLI')
    expect(html).toContain('(as it calls itself)')
    expect(html).toContain('Allow access to mcp?')
    expect(html).toContain(email)
    expect(html).toContain(MCP)
    expect(html).toContain(device.user_code)
    expect(html).toContain('action="/auth/device/consent"')
    expect(html).not.toContain(device.device_code)
    expect(html).not.toMatch(/<script/i)
    const done = await answerDevice(cookie, consentOf(html), 'approve')
    const text = await done.text()
    expect(text).toContain('Device connected')
    expect(text).not.toContain(device.device_code)
  })

  it('a person the route refuses: the device gets access_denied, with no consent page', async () => {
    const { cookie, email } = await signIn()
    expect(email).not.toBe(OPS_EMAIL)
    const clientId = await registerCli()
    const device = await startDevice(clientId, `${GATEWAY}/ops`)
    const refused = await typeCode(cookie, device.user_code)
    expect(refused.status).toBe(403)
    const html = await refused.text()
    expect(html).not.toContain('name="consent"')
    expect(html).toContain('may not use')
    await oauthError(await poll(clientId, device.device_code), 'access_denied')
  })

  it('a route asking for a recent sign-in or a second factor sends the person there first, then back to the code', async () => {
    const { cookie } = await signIn()
    const device = await startDevice(await registerCli(), `${GATEWAY}/fresh`)
    const key = await sessionKvKeyOf(cookie)
    const record = JSON.parse((await env.SESSIONS.get(key, 'text'))!)
    await env.SESSIONS.put(key, JSON.stringify({ ...record, createdAt: Date.now() - 120_000 }), {
      expirationTtl: 3600,
    })
    const response = await typeCode(cookie, device.user_code)
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe(
      `/auth/login?returnTo=${encodeURIComponent(`/auth/device?user_code=${device.user_code}`)}&reauth=1`,
    )
    const secondFactor = await startDevice(await registerCli(), `${GATEWAY}/mfa-only`)
    const mfa = await typeCode(cookie, secondFactor.user_code)
    expect(mfa.status).toBe(303)
    expect(mfa.headers.get('location')).toBe(
      `/auth/mfa?returnTo=${encodeURIComponent(`/auth/device?user_code=${secondFactor.user_code}`)}`,
    )
  })

  it('wrong user codes: 20 an hour per person, then 429, even for the right code', async () => {
    const { cookie } = await signIn()
    const device = await startDevice(await registerCli())
    for (let i = 0; i < 20; i++) {
      const wrong = await typeCode(cookie, 'BBBB-BBBB')
      expect(wrong.status, `guess ${i + 1}`).toBe(400)
      expect(await wrong.text()).toContain('not valid')
    }
    const limited = await typeCode(cookie, 'BBBB-BBBB')
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(3000)
    const right = await typeCode(cookie, device.user_code)
    expect(right.status).toBe(429)
    expect(await right.text()).not.toContain('name="consent"')
  })

  it('wrong user codes: 20 an hour per client address, across people', async () => {
    // The per-client burst limit (10 in 10 s) is lifted here to show the hourly count alone.
    const noBurstLimit = { VERIFY_LIMIT_IP: { limit: async () => ({ success: true }) } }
    const from = { 'cf-connecting-ip': '198.51.100.23' }
    for (const person of [await signIn(), await signIn()])
      for (let i = 0; i < 10; i++)
        expect((await typeCode(person.cookie, 'CCCC-CCCC', from, noBurstLimit)).status).toBe(400)
    const { cookie } = await signIn()
    const device = await startDevice(await registerCli())
    const limited = await typeCode(cookie, device.user_code, from, noBurstLimit)
    expect(limited.status).toBe(429)
    // The same person from another address is not held back.
    expect((await typeCode(cookie, device.user_code, {}, noBurstLimit)).status).toBe(200)
  })

  it('codes typed in a burst from one client address are limited (10 in 10 s)', async () => {
    const { cookie } = await signIn()
    const from = { 'cf-connecting-ip': '198.51.100.99' }
    for (let i = 0; i < 10; i++) await typeCode(cookie, 'DDDD-DDDD', from)
    const limited = await typeCode(cookie, 'DDDD-DDDD', from)
    expect(limited.status).toBe(429)
  })

  it('the consent form: altered, another person’s, answered by a script or from another site, it is refused', async () => {
    const { cookie } = await signIn()
    const clientId = await registerCli()
    const device = await startDevice(clientId)
    const consent = consentOf(await consentPageFor(cookie, device.user_code))
    const flipped = `${consent.slice(0, 20)}${consent[20] === 'A' ? 'B' : 'A'}${consent.slice(21)}`
    for (const altered of [flipped, consent.slice(0, -4), '', 'not-a-seal'])
      expect((await answerDevice(cookie, altered, 'approve')).status).toBe(400)
    const other = await signIn()
    expect((await answerDevice(other.cookie, consent, 'approve')).status).toBe(400)
    expect((await answerDevice('', consent, 'approve')).status).toBe(400)
    const crossSite = await answerDevice(cookie, consent, 'approve', {
      origin: 'https://attacker.example',
    })
    expect(crossSite.status).toBe(403)
    const script = await answerDevice(cookie, consent, 'approve', { 'sec-fetch-dest': 'empty' })
    expect(script.status).toBe(403)
    const scriptTyping = await typeCode(cookie, device.user_code, { 'sec-fetch-dest': 'empty' })
    expect(scriptTyping.status).toBe(403)
    expect((await answerDevice(cookie, consent, 'maybe')).status).toBe(400)
    // Nothing above answered the request.
    await oauthError(await poll(clientId, device.device_code), 'authorization_pending')
    expect((await answerDevice(cookie, consent, 'approve')).status).toBe(200)
  })
})
