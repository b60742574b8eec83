// The whole SDK, as a WorkOS customer's own code would use it (the gateway's build is slimmed).
import {
  NotFoundException,
  OauthException,
  UnauthorizedException,
  UnprocessableEntityException,
  WorkOS,
} from '@workos-inc/node/worker'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { base32Encode, totpCode, verifyTotp } from '../emulator/totp.ts'

// The emulator's enterprise side, driven as the gateway drives it: the SDK builds the authorize
// URLs and parses every answer; plain fetch plays the browser on the IdP page. This file talks to
// the emulator only (not the gateway), so it stands apart from test/helpers.ts.

const bindings = env as unknown as Record<string, string>
const EMULATOR = bindings.WORKOS_API_URL!
const WEBHOOK_SECRET = bindings.WORKOS_WEBHOOK_SECRET!
const emulatorUrl = new URL(EMULATOR)
const CLIENT_ID = 'client_emulator'
const CALLBACK = 'https://gateway.test/auth/callback'

/** The SDK against the emulator; `null` makes a public (PKCE-only) client without an API key. */
function sdk(apiKey: string | null = 'sk_test_emulator') {
  const options = {
    clientId: CLIENT_ID,
    apiHostname: emulatorUrl.hostname,
    port: Number(emulatorUrl.port),
    https: false,
    maxRetries: 0,
  }
  return apiKey ? new WorkOS(apiKey, options) : new WorkOS(options)
}

const post = (path: string, body?: unknown, method = 'POST') =>
  fetch(`${EMULATOR}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })

let counter = 0
const unique = (label: string) =>
  `${label}-${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 6)}`

/** A fresh organization on its own domain, with an active SSO connection unless `sso: false`. */
async function newOrganization(options: { sso?: boolean; id?: string } = {}) {
  const domain = `${unique('corp')}.test`
  const response = await post('/__organizations', { name: 'Corp', domains: [domain], ...options })
  expect(response.status).toBe(201)
  const { id, connectionId } = (await response.json()) as { id: string; connectionId: string }
  return { id, connectionId, domain }
}

/** Opens an authorize URL as a browser: the 302 to the IdP page. */
async function openAuthorizeUrl(url: string): Promise<URL> {
  const response = await fetch(url, { redirect: 'manual' })
  await response.body?.cancel()
  expect(response.status).toBe(302)
  return new URL(response.headers.get('location')!)
}

/** Posts the IdP page's form; answers the response (302 back to the app, or a 400 page). */
function submitIdp(page: URL, fields: Record<string, string>) {
  return fetch(page, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  })
}

async function redirectBack(response: Response): Promise<URL> {
  await response.body?.cancel()
  expect(response.status).toBe(302)
  return new URL(response.headers.get('location')!)
}

/** The whole browser leg of an SSO sign-in: authorize URL → IdP page → allow → the callback URL. */
async function signInAtIdp(url: string, fields: Record<string, string>): Promise<URL> {
  const page = await openAuthorizeUrl(url)
  return redirectBack(await submitIdp(page, { decision: 'allow', ...fields }))
}

function authorizeUrl(organization: string, extra: Record<string, string> = {}) {
  return sdk().sso.getAuthorizationUrl({
    organization,
    clientId: CLIENT_ID,
    redirectUri: CALLBACK,
    state: 'sealed-state',
    ...extra,
  })
}

async function deliveries(filter: Record<string, string>) {
  const response = await fetch(`${EMULATOR}/__webhooks?${new URLSearchParams(filter)}`)
  return (
    (await response.json()) as { deliveries: { event: string; body: string; signature: string }[] }
  ).deliveries
}

/** The newest delivery matching `filter`, checked and parsed by the SDK as the gateway would. */
async function verifiedEvent(filter: Record<string, string>) {
  const [delivery] = await deliveries(filter)
  expect(delivery, `a delivery for ${JSON.stringify(filter)}`).toBeDefined()
  return sdk().webhooks.constructEvent({
    payload: delivery!.body,
    sigHeader: delivery!.signature,
    secret: WEBHOOK_SECRET,
  })
}

describe('emulator: SSO sign-in through the IdP page', () => {
  it('runs authorize → IdP page → allow → code → profile with the typed role and groups', async () => {
    const org = await newOrganization()
    const email = `ann@${org.domain}`
    const page = await openAuthorizeUrl(authorizeUrl(org.id, { loginHint: email }))
    expect(page.pathname).toMatch(/^\/sso\/idp\/[A-Za-z0-9_-]+$/)

    const html = await (await fetch(page)).text()
    expect(html).toMatch(/<form method="post">/)
    for (const name of ['email', 'first_name', 'last_name', 'role', 'groups']) {
      expect(html).toContain(`name="${name}"`)
      expect(html).toContain(`<label for="${name}">`)
    }
    expect(html).toContain(`value="${email}"`)
    expect(html).toMatch(/name="decision" value="allow"/)
    expect(html).toMatch(/name="decision" value="deny"/)

    const callback = await redirectBack(
      await submitIdp(page, {
        email,
        first_name: 'Ann',
        last_name: 'Smith',
        role: 'admin',
        groups: 'eng, ops ,',
        decision: 'allow',
      }),
    )
    expect(callback.origin + callback.pathname).toBe(CALLBACK)
    expect(callback.searchParams.get('state')).toBe('sealed-state')
    const code = callback.searchParams.get('code')!
    expect(code).toBeTruthy()

    const { profile, accessToken } = await sdk().sso.getProfileAndToken({
      code,
      clientId: CLIENT_ID,
    })
    expect(profile).toMatchObject({
      email,
      firstName: 'Ann',
      lastName: 'Smith',
      organizationId: org.id,
      connectionId: org.connectionId,
      connectionType: 'GenericSAML',
      role: { slug: 'admin' },
      roles: [{ slug: 'admin' }],
      groups: ['eng', 'ops'],
      customAttributes: {},
      rawAttributes: {},
    })
    expect(profile.id).toMatch(/^prof_/)
    expect(await sdk().sso.getProfile({ accessToken })).toMatchObject({
      id: profile.id,
      groups: ['eng', 'ops'],
    })

    // The profile id is stable per person and connection; role and groups follow each sign-in.
    const again = await signInAtIdp(authorizeUrl(org.id), { email, role: 'viewer', groups: '' })
    const second = await sdk().sso.getProfileAndToken({
      code: again.searchParams.get('code')!,
      clientId: CLIENT_ID,
    })
    expect(second.profile.id).toBe(profile.id)
    expect(second.profile.role).toEqual({ slug: 'viewer' })
    expect(second.profile.groups).toEqual([])
  })

  it('starts from a connection too, and the connection and membership are readable', async () => {
    const org = await newOrganization()
    const url = sdk().sso.getAuthorizationUrl({
      connection: org.connectionId,
      clientId: CLIENT_ID,
      redirectUri: CALLBACK,
    })
    const callback = await signInAtIdp(url, { email: `bo@${org.domain}`, role: 'editor' })
    expect(callback.searchParams.get('code')).toBeTruthy()
    expect(callback.searchParams.has('state')).toBe(false)

    const connection = await sdk().sso.getConnection(org.connectionId)
    expect(connection).toMatchObject({
      id: org.connectionId,
      organizationId: org.id,
      state: 'active',
    })
    expect(connection.type).toBe('GenericSAML')
    expect(connection.domains).toEqual([
      {
        object: 'connection_domain',
        id: expect.stringMatching(/^conn_domain_/),
        domain: org.domain,
      },
    ])
    const listed = await sdk().sso.listConnections({ organizationId: org.id })
    expect(listed.data.map((c) => c.id)).toEqual([org.connectionId])

    const memberships = await sdk().userManagement.listOrganizationMemberships({
      organizationId: org.id,
    })
    expect(memberships.data).toHaveLength(1)
    expect(memberships.data[0]).toMatchObject({
      organizationId: org.id,
      organizationName: 'Corp',
      status: 'active',
      role: { slug: 'editor' },
    })
    const user = await sdk().userManagement.getUser(memberships.data[0]!.userId)
    expect(user.email).toBe(`bo@${org.domain}`)
  })

  it('deny goes back with error=access_denied and the state, without a code', async () => {
    const org = await newOrganization()
    const page = await openAuthorizeUrl(authorizeUrl(org.id))
    const back = await redirectBack(await submitIdp(page, { decision: 'deny' }))
    expect(back.searchParams.get('error')).toBe('access_denied')
    expect(back.searchParams.get('error_description')).toBeTruthy()
    expect(back.searchParams.get('state')).toBe('sealed-state')
    expect(back.searchParams.has('code')).toBe(false)
    // The request is answered: the page is gone.
    expect((await fetch(page)).status).toBe(400)
  })

  it("refuses an email outside the organization's domains on the page (400)", async () => {
    const org = await newOrganization()
    const page = await openAuthorizeUrl(authorizeUrl(org.id))
    const refused = await submitIdp(page, { email: 'eve@elsewhere.test', decision: 'allow' })
    expect(refused.status).toBe(400)
    const text = await refused.text()
    expect(text).toContain('eve@elsewhere.test is not at a domain of Corp')
    expect(text).toContain('<form method="post">')
    // The same request can still be finished with a right address.
    const back = await redirectBack(
      await submitIdp(page, { email: `eve@${org.domain}`, decision: 'allow' }),
    )
    expect(back.searchParams.get('code')).toBeTruthy()
  })

  it('a code is single use: the second exchange is invalid_grant', async () => {
    const org = await newOrganization()
    const callback = await signInAtIdp(authorizeUrl(org.id), { email: `cy@${org.domain}` })
    const code = callback.searchParams.get('code')!
    await sdk().sso.getProfileAndToken({ code, clientId: CLIENT_ID })
    const error = await sdk()
      .sso.getProfileAndToken({ code, clientId: CLIENT_ID })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OauthException)
    expect((error as OauthException).error).toBe('invalid_grant')
  })

  it('binds a code to its PKCE challenge: the right verifier, not a wrong or missing one', async () => {
    const org = await newOrganization()
    const pkceUrl = () =>
      sdk().sso.getAuthorizationUrlWithPKCE({
        organization: org.id,
        clientId: CLIENT_ID,
        redirectUri: CALLBACK,
      })
    const first = await pkceUrl()
    expect(new URL(first.url).searchParams.get('code_challenge_method')).toBe('S256')
    const firstCode = (
      await signInAtIdp(first.url, { email: `di@${org.domain}` })
    ).searchParams.get('code')!
    const other = await pkceUrl()
    for (const codeVerifier of [other.codeVerifier, undefined]) {
      const error = await sdk()
        .sso.getProfileAndToken({ code: firstCode, clientId: CLIENT_ID, codeVerifier })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OauthException)
      expect((error as OauthException).error).toBe('invalid_grant')
    }
    const { profile } = await sdk().sso.getProfileAndToken({
      code: firstCode,
      clientId: CLIENT_ID,
      codeVerifier: first.codeVerifier,
    })
    expect(profile.email).toBe(`di@${org.domain}`)

    // A public client (no API key) exchanges with the verifier alone.
    const second = await pkceUrl()
    const secondCode = (
      await signInAtIdp(second.url, { email: `di@${org.domain}` })
    ).searchParams.get('code')!
    const publicClient = await sdk(null).sso.getProfileAndToken({
      code: secondCode,
      clientId: CLIENT_ID,
      codeVerifier: second.codeVerifier,
    })
    expect(publicClient.profile.id).toBe(profile.id)
  })

  it('sends organization_invalid back for an unknown organization or one without SSO', async () => {
    const withoutSso = await newOrganization({ sso: false })
    for (const organization of ['org_01UNKNOWN0000000000000000', withoutSso.id]) {
      const back = await openAuthorizeUrl(authorizeUrl(organization))
      expect(back.origin + back.pathname).toBe(CALLBACK)
      expect(back.searchParams.get('error')).toBe('organization_invalid')
      expect(back.searchParams.get('error_description')).toBeTruthy()
      expect(back.searchParams.get('state')).toBe('sealed-state')
    }
  })

  it('answers 400 itself, never redirecting, for a wrong client id or a foreign redirect URI', async () => {
    const org = await newOrganization()
    for (const url of [
      sdk().sso.getAuthorizationUrl({
        organization: org.id,
        clientId: 'client_other',
        redirectUri: CALLBACK,
      }),
      sdk().sso.getAuthorizationUrl({
        organization: org.id,
        clientId: CLIENT_ID,
        redirectUri: 'https://evil.example/callback',
      }),
    ]) {
      const response = await fetch(url, { redirect: 'manual' })
      expect(response.status).toBe(400)
      expect(response.headers.get('location')).toBeNull()
      await response.body?.cancel()
    }
  })

  it('AuthKit: /user_management/authorize and authenticateWithCode (authentication_method SSO)', async () => {
    const org = await newOrganization()
    const url = sdk().userManagement.getAuthorizationUrl({
      organizationId: org.id,
      clientId: CLIENT_ID,
      redirectUri: CALLBACK,
      state: 'ak',
    })
    const callback = await signInAtIdp(url, { email: `ed@${org.domain}`, role: 'admin' })
    const code = callback.searchParams.get('code')!
    // A code from one API is not taken by the other's exchange.
    const crossed = await sdk()
      .sso.getProfileAndToken({ code, clientId: CLIENT_ID })
      .catch((e: unknown) => e)
    expect((crossed as OauthException).error).toBe('invalid_grant')
    const result = await sdk().userManagement.authenticateWithCode({ code, clientId: CLIENT_ID })
    expect(result.user.email).toBe(`ed@${org.domain}`)
    expect(result.organizationId).toBe(org.id)
    expect(result.authenticationMethod).toBe('SSO')
    const bad = await sdk()
      .userManagement.authenticateWithCode({ code, clientId: CLIENT_ID })
      .catch((e: unknown) => e)
    expect((bad as OauthException).error).toBe('invalid_grant')
  })
})

describe('emulator: organizations', () => {
  it('lists organizations by domain (list shape, verified domains)', async () => {
    const org = await newOrganization()
    const list = await sdk().organizations.listOrganizations({ domains: [org.domain] })
    expect(list.data).toHaveLength(1)
    expect(list.listMetadata).toEqual({ before: null, after: null })
    expect(list.data[0]).toMatchObject({
      id: org.id,
      name: 'Corp',
      allowProfilesOutsideOrganization: false,
      domains: [{ domain: org.domain, state: 'verified', organizationId: org.id }],
    })
    const none = await sdk().organizations.listOrganizations({ domains: ['nobody.invalid'] })
    expect(none.data).toEqual([])
    expect((await sdk().organizations.getOrganization(org.id)).id).toBe(org.id)
    await expect(sdk().organizations.getOrganization('org_01NOPE')).rejects.toBeInstanceOf(
      NotFoundException,
    )
    await expect(
      sdk('sk_test_wrong').organizations.listOrganizations({ domains: [org.domain] }),
    ).rejects.toBeInstanceOf(UnauthorizedException)
  })

  it('uses a given id as is, updates it when posted again, and keeps a verified domain to one', async () => {
    const id = `org_${unique('fixed')
      .toUpperCase()
      .replace(/[^0-9A-Z]/g, '')}`
    const created = await newOrganization({ id })
    expect(created.id).toBe(id)
    expect(created.connectionId).toMatch(/^conn_/)
    const again = await post('/__organizations', { id, name: 'Renamed', domains: [created.domain] })
    expect(again.status).toBe(201)
    expect(((await again.json()) as { connectionId: string }).connectionId).toBe(
      created.connectionId,
    )
    expect((await sdk().organizations.getOrganization(id)).name).toBe('Renamed')
    const taken = await post('/__organizations', { name: 'Other', domains: [created.domain] })
    expect(taken.status).toBe(409)
  })
})

describe('emulator: MFA (TOTP)', () => {
  it('computes RFC 6238 codes (SHA-1 test vectors, last six digits)', async () => {
    const secret = base32Encode(new TextEncoder().encode('12345678901234567890'))
    expect(secret).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
    const vectors: [number, string][] = [
      [59, '287082'],
      [1111111109, '081804'],
      [1234567890, '005924'],
      [2000000000, '279037'],
    ]
    for (const [seconds, code] of vectors) expect(await totpCode(secret, seconds * 1000)).toBe(code)
    // One step of drift either way, not two.
    expect(await verifyTotp(secret, '081804', (1111111109 + 30) * 1000)).toBe(true)
    expect(await verifyTotp(secret, '081804', (1111111109 + 60) * 1000)).toBe(false)
  })

  it('enrols a factor (secret, otpauth URI, PNG QR code), challenges and verifies it once', async () => {
    const mfa = sdk().multiFactorAuth
    const factor = await mfa.enrollFactor({
      type: 'totp',
      issuer: 'Gateway',
      user: 'fay@corp.test',
    })
    expect(factor.id).toMatch(/^auth_factor_/)
    expect(factor.type).toBe('totp')
    const totp = factor.totp!
    expect(totp.secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(totp.uri).toBe(
      `otpauth://totp/Gateway:fay%40corp.test?secret=${totp.secret}&issuer=Gateway`,
    )
    expect(totp.qrCode).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/)
    const fetched = await mfa.getFactor(factor.id)
    expect(fetched.totp).toEqual({ issuer: 'Gateway', user: 'fay@corp.test' })

    const challenge = await mfa.challengeFactor({ authenticationFactorId: factor.id })
    expect(challenge).toMatchObject({
      authenticationFactorId: factor.id,
      object: 'authentication_challenge',
    })
    const right = await totpCode(totp.secret)
    const wrong = String((Number(right) + 1) % 1e6).padStart(6, '0')
    const missed = await mfa.verifyChallenge({
      authenticationChallengeId: challenge.id,
      code: wrong,
    })
    expect(missed.valid).toBe(false)
    const passed = await mfa.verifyChallenge({
      authenticationChallengeId: challenge.id,
      code: right,
    })
    expect(passed).toMatchObject({ valid: true, challenge: { id: challenge.id } })
    const replay = await mfa
      .verifyChallenge({ authenticationChallengeId: challenge.id, code: right })
      .catch((e: unknown) => e)
    expect(replay).toBeInstanceOf(UnprocessableEntityException)
    expect((replay as UnprocessableEntityException).code).toBe(
      'authentication_challenge_previously_verified',
    )

    const late = await mfa.challengeFactor({ authenticationFactorId: factor.id })
    await post(`/__challenges/${late.id}/expire`)
    const expired = await mfa
      .verifyChallenge({ authenticationChallengeId: late.id, code: await totpCode(totp.secret) })
      .catch((e: unknown) => e)
    expect((expired as UnprocessableEntityException).code).toBe('authentication_challenge_expired')

    await mfa.deleteFactor(factor.id)
    await expect(mfa.getFactor(factor.id)).rejects.toBeInstanceOf(NotFoundException)
  })
})

describe('emulator: signed WorkOS events', () => {
  it('connection.deactivated, then no more sign-ins; connection.deleted', async () => {
    const org = await newOrganization()
    expect((await post(`/__connections/${org.connectionId}/deactivate`)).status).toBe(200)
    const deactivated = await verifiedEvent({
      connection: org.connectionId,
      event: 'connection.deactivated',
    })
    expect(deactivated.event).toBe('connection.deactivated')
    expect(deactivated.data).toMatchObject({
      id: org.connectionId,
      organizationId: org.id,
      state: 'inactive',
    })
    const back = await openAuthorizeUrl(authorizeUrl(org.id))
    expect(back.searchParams.get('error')).toBe('organization_invalid')

    expect((await post(`/__connections/${org.connectionId}`, undefined, 'DELETE')).status).toBe(200)
    const deleted = await verifiedEvent({
      connection: org.connectionId,
      event: 'connection.deleted',
    })
    expect(deleted.data).toMatchObject({ id: org.connectionId })
    await expect(sdk().sso.getConnection(org.connectionId)).rejects.toBeInstanceOf(
      NotFoundException,
    )
  })

  it('organization_membership.updated and .deleted carry the membership', async () => {
    const org = await newOrganization()
    const email = `gus@${org.domain}`
    await signInAtIdp(authorizeUrl(org.id), { email, role: 'admin' })
    const path = `/__organizations/${org.id}/memberships/${encodeURIComponent(email)}`
    const updated = await post(path, { role: 'viewer' }, 'PUT')
    expect(updated.status).toBe(200)
    const { membership } = (await updated.json()) as { membership: { user_id: string } }
    const event = await verifiedEvent({
      user: membership.user_id,
      event: 'organization_membership.updated',
    })
    expect(event.data).toMatchObject({
      userId: membership.user_id,
      organizationId: org.id,
      role: { slug: 'viewer' },
      status: 'active',
    })

    expect((await post(path, undefined, 'DELETE')).status).toBe(200)
    const removed = await verifiedEvent({
      organization: org.id,
      event: 'organization_membership.deleted',
    })
    expect(removed.data).toMatchObject({ userId: membership.user_id, organizationId: org.id })
    const left = await sdk().userManagement.listOrganizationMemberships({ organizationId: org.id })
    expect(left.data).toEqual([])
  })

  it('dsync.user.deleted and dsync.group.user_removed carry directory users and groups', async () => {
    const org = await newOrganization()
    const email = `hal@${org.domain}`
    expect((await post(`/__directory/groups/eng/remove`, { email })).status).toBe(200)
    const removed = await verifiedEvent({ email, event: 'dsync.group.user_removed' })
    expect(removed.event).toBe('dsync.group.user_removed')
    if (removed.event !== 'dsync.group.user_removed') return
    expect(removed.data.user).toMatchObject({ email, organizationId: org.id, state: 'active' })
    expect(removed.data.user.id).toMatch(/^directory_user_/)
    expect(removed.data.group).toMatchObject({ name: 'eng', organizationId: org.id })
    expect(removed.data.directoryId).toBe(removed.data.user.directoryId)
    const [raw] = await deliveries({ email, event: 'dsync.group.user_removed' })
    expect(JSON.parse(raw!.body).data.user.emails).toEqual([
      { primary: true, type: 'work', value: email },
    ])

    expect((await post(`/__directory/users/${encodeURIComponent(email)}/delete`, {})).status).toBe(
      200,
    )
    const deleted = await verifiedEvent({ organization: org.id, event: 'dsync.user.deleted' })
    expect(deleted.data).toMatchObject({ email, state: 'inactive', id: removed.data.user.id })
    expect((await post(`/__directory/users/nobody%40unknown.test/delete`, {})).status).toBe(404)
  })
})
