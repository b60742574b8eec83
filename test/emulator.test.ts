// The whole SDK, as a WorkOS customer's own code would use it (the gateway's build is slimmed).
import {
  GenericServerException,
  NotFoundException,
  OauthException,
  RateLimitExceededException,
  UnauthorizedException,
  UnprocessableEntityException,
} from '@workos-inc/node/worker'
import { afterEach, describe, expect, it } from 'vitest'
import { EVENT_LOG_CAP, EVENT_RETENTION_MS, EventLog } from '../emulator/event-log.ts'
import { emulatorSdk } from './emulator-sdk'
import {
  EMULATOR,
  armFault,
  clearFaults,
  expireEverythingFor,
  json,
  mailFor,
  uniqueEmail,
} from './helpers'

// The emulator is tested the way the gateway uses it: through the official SDK over HTTP.

const CALLBACK = 'https://gateway.test/auth/callback'

async function createLink(email = uniqueEmail(), state: string | undefined = 'opaque-state') {
  return emulatorSdk().passwordless.createSession({
    type: 'MagicLink',
    email,
    redirectURI: CALLBACK,
    ...(state !== undefined && { state }),
  })
}

async function follow(link: string): Promise<URL> {
  const response = await fetch(link, { redirect: 'manual' })
  expect(response.status).toBe(302)
  return new URL(response.headers.get('location')!)
}

afterEach(clearFaults)

describe('emulator: passwordless sessions', () => {
  it('creates a session with the real shape (201, passwordless_session_ id, 15-minute expiry)', async () => {
    const email = uniqueEmail()
    const before = Date.now()
    const session = await createLink(email)
    expect(session.id).toMatch(/^passwordless_session_[0-9A-Z]{26}$/)
    expect(session.email).toBe(email)
    expect(session.object).toBe('passwordless_session')
    expect(session.link).toMatch(new RegExp(`^${EMULATOR}/passwordless/[^/]+/confirm$`))
    const expiresIn = new Date(session.expiresAt).getTime() - before
    expect(expiresIn).toBeGreaterThan(14 * 60_000)
    expect(expiresIn).toBeLessThanOrEqual(15 * 60_000 + 1000)
  })

  it('refuses a wrong API key with 401 (UnauthorizedException)', async () => {
    await expect(
      emulatorSdk('sk_test_wrong').passwordless.createSession({
        type: 'MagicLink',
        email: uniqueEmail(),
      }),
    ).rejects.toBeInstanceOf(UnauthorizedException)
  })

  it('validates the body with 422 and a list of requirements', async () => {
    const error = await emulatorSdk()
      .passwordless.createSession({ type: 'MagicLink', email: 'not-an-email' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnprocessableEntityException)
    expect((error as Error).message).toContain('email')
  })

  it('refuses a redirect URI that is neither loopback nor allowed', async () => {
    const error = await emulatorSdk()
      .passwordless.createSession({
        type: 'MagicLink',
        email: uniqueEmail(),
        redirectURI: 'https://evil.example/callback',
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnprocessableEntityException)
    // Loopback is always allowed, so a changed --port needs no set-up.
    const loopback = await emulatorSdk().passwordless.createSession({
      type: 'MagicLink',
      email: uniqueEmail(),
      redirectURI: 'http://localhost:8787/auth/callback',
    })
    expect(loopback.id).toBeTruthy()
  })

  it('sendSession answers {success:true} and puts the link in the mailbox', async () => {
    const email = uniqueEmail()
    const session = await createLink(email)
    expect(await emulatorSdk().passwordless.sendSession(session.id)).toEqual({ success: true })
    const [message] = await mailFor(email)
    expect(message).toMatchObject({ to: email, link: session.link, code: null })
    expect(new Date(message!.sentAt).getTime()).toBeGreaterThan(Date.now() - 60_000)
  })

  it('sendSession refuses an unknown session with 422', async () => {
    await expect(
      emulatorSdk().passwordless.sendSession('passwordless_session_UNKNOWN'),
    ).rejects.toBeInstanceOf(UnprocessableEntityException)
  })

  it('spends a link on its first GET; the second gets error=access_denied', async () => {
    const session = await createLink()
    const first = await follow(session.link)
    expect(first.origin + first.pathname).toBe(CALLBACK)
    expect(first.searchParams.get('code')).toBeTruthy()
    expect(first.searchParams.get('state')).toBe('opaque-state')
    const second = await follow(session.link)
    expect(second.searchParams.get('error')).toBe('access_denied')
    expect(second.searchParams.get('code')).toBeNull()
  })

  it('an expired link redirects with error=access_denied', async () => {
    const email = uniqueEmail()
    const session = await createLink(email)
    await expireEverythingFor(email)
    expect((await follow(session.link)).searchParams.get('error')).toBe('access_denied')
  })
})

describe('emulator: /sso/token and /sso/profile', () => {
  async function codeFor(email = uniqueEmail()) {
    const session = await createLink(email)
    return { email, code: (await follow(session.link)).searchParams.get('code')! }
  }

  it('exchanges a code (form-encoded, from the SDK) for a MagicLink profile', async () => {
    const { email, code } = await codeFor()
    const { profile, accessToken } = await emulatorSdk().sso.getProfileAndToken({
      code,
      clientId: 'client_emulator',
    })
    expect(profile).toMatchObject({
      email,
      connectionType: 'MagicLink',
      organizationId: null,
      firstName: null,
      lastName: null,
      idpId: email,
      rawAttributes: {},
    })
    expect(profile.id).toMatch(/^prof_/)
    expect(profile.connectionId).toMatch(/^conn_/)
    expect(accessToken).toBeTruthy()
    expect(await emulatorSdk().sso.getProfile({ accessToken })).toMatchObject({
      id: profile.id,
      email,
    })
  })

  it('keeps one profile per address across sign-ins', async () => {
    const email = uniqueEmail()
    const first = await emulatorSdk().sso.getProfileAndToken({
      code: (await codeFor(email)).code,
      clientId: 'client_emulator',
    })
    const second = await emulatorSdk().sso.getProfileAndToken({
      code: (await codeFor(email)).code,
      clientId: 'client_emulator',
    })
    expect(second.profile.id).toBe(first.profile.id)
  })

  it('accepts JSON too, as the spec allows', async () => {
    const { email, code } = await codeFor()
    const response = await fetch(
      `${EMULATOR}/sso/token`,
      json({
        client_id: 'client_emulator',
        client_secret: 'sk_test_emulator',
        grant_type: 'authorization_code',
        code,
      }),
    )
    expect(response.status).toBe(200)
    const body = (await response.json()) as { token_type: string; profile: { email: string } }
    expect(body.token_type).toBe('Bearer')
    expect(body.profile.email).toBe(email)
  })

  it('a code is single use: the second exchange is invalid_grant', async () => {
    const { code } = await codeFor()
    await emulatorSdk().sso.getProfileAndToken({ code, clientId: 'client_emulator' })
    const error = await emulatorSdk()
      .sso.getProfileAndToken({ code, clientId: 'client_emulator' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OauthException)
    expect((error as OauthException).error).toBe('invalid_grant')
    expect((error as OauthException).status).toBe(400)
    expect((error as OauthException).requestID).toMatch(/^req_/)
  })

  it('an expired code is invalid_grant', async () => {
    const { email, code } = await codeFor()
    await expireEverythingFor(email)
    const error = await emulatorSdk()
      .sso.getProfileAndToken({ code, clientId: 'client_emulator' })
      .catch((e: unknown) => e)
    expect((error as OauthException).error).toBe('invalid_grant')
  })

  it('checks the client id and the client secret (invalid_client)', async () => {
    const { code } = await codeFor()
    const wrongClient = await emulatorSdk()
      .sso.getProfileAndToken({ code, clientId: 'client_other' })
      .catch((e: unknown) => e)
    expect((wrongClient as OauthException).error).toBe('invalid_client')
    const wrongSecret = await emulatorSdk('sk_test_other')
      .sso.getProfileAndToken({ code, clientId: 'client_emulator' })
      .catch((e: unknown) => e)
    expect((wrongSecret as OauthException).error).toBe('invalid_client')
    // Neither attempt spent the code.
    const { profile } = await emulatorSdk().sso.getProfileAndToken({
      code,
      clientId: 'client_emulator',
    })
    expect(profile.id).toMatch(/^prof_/)
  })

  it('refuses another grant type', async () => {
    const response = await fetch(`${EMULATOR}/sso/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&client_id=client_emulator&client_secret=sk_test_emulator&code=x',
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: string }).error).toBe('unsupported_grant_type')
  })

  it('/sso/profile refuses a missing or unknown access token with 401 JSON', async () => {
    const response = await fetch(`${EMULATOR}/sso/profile`, {
      headers: { authorization: 'Bearer nope' },
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('content-type')).toMatch(/application\/json/)
    expect(response.headers.get('x-request-id')).toMatch(/^req_/)
    await expect(emulatorSdk().sso.getProfile({ accessToken: 'nope' })).rejects.toBeInstanceOf(
      UnauthorizedException,
    )
  })
})

describe('emulator: fault switch', () => {
  it('fails the next `count` matching calls, then recovers, with no side effect', async () => {
    const email = uniqueEmail()
    await armFault({ method: 'POST', path: '/passwordless/sessions', status: 503, count: 2 })
    const listed = (await (await fetch(`${EMULATOR}/__faults`)).json()) as { faults: unknown[] }
    expect(listed.faults).toHaveLength(1)
    for (let i = 0; i < 2; i++) {
      const error = await createLink(email).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(GenericServerException)
      expect((error as GenericServerException).status).toBe(503)
    }
    expect((await createLink(email)).id).toBeTruthy()
  })

  it('matches a path prefix ending in *', async () => {
    const session = await createLink()
    await armFault({ path: '/passwordless/sessions/*', status: 500, body: { message: 'boom' } })
    await expect(emulatorSdk().passwordless.sendSession(session.id)).rejects.toBeInstanceOf(
      GenericServerException,
    )
    expect(await emulatorSdk().passwordless.sendSession(session.id)).toEqual({ success: true })
  })

  it('sends 429 with Retry-After; the SDK raises RateLimitExceededException', async () => {
    await armFault({
      path: '/passwordless/sessions',
      status: 429,
      headers: { 'Retry-After': '7' },
      body: { message: 'Slow down' },
    })
    const error = await createLink().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RateLimitExceededException)
    expect((error as RateLimitExceededException).retryAfter).toBe(7)
  })

  it('sends a text body as text/plain; the SDK cannot parse it', async () => {
    await armFault({
      path: '/passwordless/sessions',
      status: 502,
      body: '<html>Bad gateway</html>',
    })
    const error = await createLink().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(String(error)).toMatch(/Unexpected error|ParseError/i)
  })

  it('delays a call and then lets it through (a slow answer)', async () => {
    await armFault({ path: '/passwordless/sessions', delayMs: 300 })
    const started = Date.now()
    expect((await createLink()).id).toBeTruthy()
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
  })

  it('refuses a malformed fault and clears them all on DELETE', async () => {
    const bad = await fetch(`${EMULATOR}/__faults`, json({ path: 'no-slash', status: 99 }))
    expect(bad.status).toBe(400)
    await armFault({ path: '/sso/token', count: 5 })
    await clearFaults()
    const listed = (await (await fetch(`${EMULATOR}/__faults`)).json()) as { faults: unknown[] }
    expect(listed.faults).toHaveLength(0)
  })
})

describe('emulator: Magic Auth', () => {
  it('creates a 6-digit code for 10 minutes, creating the user on first use', async () => {
    const email = uniqueEmail('ma')
    const before = Date.now()
    const magicAuth = await emulatorSdk().userManagement.createMagicAuth({ email })
    expect(magicAuth.id).toMatch(/^magic_auth_/)
    expect(magicAuth.userId).toMatch(/^user_/)
    expect(magicAuth.email).toBe(email)
    expect(magicAuth.code).toMatch(/^\d{6}$/)
    const lifetime = new Date(magicAuth.expiresAt).getTime() - before
    expect(lifetime).toBeGreaterThan(9 * 60_000)
    expect(lifetime).toBeLessThanOrEqual(10 * 60_000 + 1000)
    const [message] = await mailFor(email)
    expect(message).toMatchObject({ to: email, code: magicAuth.code, link: null, via: 'workos' })
    expect(await emulatorSdk().userManagement.getMagicAuth(magicAuth.id)).toMatchObject({
      id: magicAuth.id,
      code: magicAuth.code,
    })
  })

  it('getMagicAuth of an unknown id is a 404 NotFoundException with entity_not_found', async () => {
    const error = await emulatorSdk()
      .userManagement.getMagicAuth('magic_auth_UNKNOWN')
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotFoundException)
    expect((error as NotFoundException).code).toBe('entity_not_found')
  })

  it('authenticates with the code once, verifying the email', async () => {
    const email = uniqueEmail()
    const { code, userId } = await emulatorSdk().userManagement.createMagicAuth({ email })
    const result = await emulatorSdk().userManagement.authenticateWithMagicAuth({
      code,
      email,
      clientId: 'client_emulator',
      ipAddress: '203.0.113.5',
      userAgent: 'test-agent',
    })
    expect(result.user).toMatchObject({ id: userId, email, emailVerified: true })
    expect(result.authenticationMethod).toBe('MagicAuth')
    expect(result.accessToken.split('.')).toHaveLength(3)
    const again = await emulatorSdk()
      .userManagement.authenticateWithMagicAuth({ code, email, clientId: 'client_emulator' })
      .catch((e: unknown) => e)
    expect(again).toBeInstanceOf(GenericServerException)
    expect((again as GenericServerException).code).toBe('one_time_code_previously_used')
  })

  it.each([
    ['a wrong code', 'invalid_one_time_code'],
    ['an expired code', 'one_time_code_expired'],
  ])('answers %s with 400 %s', async (what, expected) => {
    const email = uniqueEmail()
    const { code } = await emulatorSdk().userManagement.createMagicAuth({ email })
    if (what === 'an expired code') await expireEverythingFor(email)
    const typed = what === 'a wrong code' ? String((Number(code) + 1) % 1e6).padStart(6, '0') : code
    const error = await emulatorSdk()
      .userManagement.authenticateWithMagicAuth({ code: typed, email, clientId: 'client_emulator' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GenericServerException)
    expect((error as GenericServerException).status).toBe(400)
    expect((error as GenericServerException).code).toBe(expected)
  })

  it('caps wrong guesses at 5, after which even the right code is refused', async () => {
    const email = uniqueEmail()
    const { code } = await emulatorSdk().userManagement.createMagicAuth({ email })
    const wrongCode = String((Number(code) + 7) % 1e6).padStart(6, '0')
    const codes: unknown[] = []
    for (let i = 0; i < 5; i++) {
      const error = await emulatorSdk()
        .userManagement.authenticateWithMagicAuth({
          code: wrongCode,
          email,
          clientId: 'client_emulator',
        })
        .catch((e: GenericServerException) => e.code)
      codes.push(error)
    }
    expect(codes.at(-1)).toBe('one_time_code_too_many_attempts')
    const right = await emulatorSdk()
      .userManagement.authenticateWithMagicAuth({ code, email, clientId: 'client_emulator' })
      .catch((e: GenericServerException) => e.code)
    expect(right).toBe('one_time_code_too_many_attempts')
  })

  it('refuses sign-up for a blocked domain with OAuth-shaped sign_up_not_allowed', async () => {
    const domain = `blocked-${Date.now()}.example`
    await fetch(`${EMULATOR}/__signup-blocked`, json({ domain }))
    const error = await emulatorSdk()
      .userManagement.createMagicAuth({ email: `new@${domain}` })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OauthException)
    expect((error as OauthException).error).toBe('sign_up_not_allowed')
  })

  it('limits codes to 3 a minute per address (RateLimitExceededException)', async () => {
    const email = uniqueEmail()
    for (let i = 0; i < 3; i++) await emulatorSdk().userManagement.createMagicAuth({ email })
    const error = await emulatorSdk()
      .userManagement.createMagicAuth({ email })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RateLimitExceededException)
  })

  it('checks the client id, the secret and the parameters', async () => {
    const email = uniqueEmail()
    const { code } = await emulatorSdk().userManagement.createMagicAuth({ email })
    const wrongClient = await emulatorSdk()
      .userManagement.authenticateWithMagicAuth({ code, email, clientId: 'client_other' })
      .catch((e: unknown) => e)
    expect((wrongClient as OauthException).error).toBe('invalid_client')
    const missing = await fetch(
      `${EMULATOR}/user_management/authenticate`,
      json({
        grant_type: 'urn:workos:oauth:grant-type:magic-auth:code',
        client_id: 'client_emulator',
        client_secret: 'sk_test_emulator',
        email,
      }),
    )
    expect(missing.status).toBe(400)
    expect(((await missing.json()) as { error: string }).error).toBe('invalid_request')
    await expect(
      emulatorSdk('sk_test_wrong').userManagement.createMagicAuth({ email }),
    ).rejects.toBeInstanceOf(UnauthorizedException)
  })
})

describe('emulator: Events API (GET /events)', () => {
  const API_KEY = { authorization: 'Bearer sk_test_emulator' }

  interface EventsPage {
    object: string
    data: { object: string; id: string; event: string; data: Record<string, unknown> }[]
    list_metadata: { before: string | null; after: string | null }
  }

  async function listEvents(query: string | URLSearchParams, headers = API_KEY) {
    const response = await fetch(`${EMULATOR}/events?${query}`, { headers })
    return { status: response.status, body: (await response.json()) as EventsPage }
  }

  /** The ids of the page the query lists (the response must be a 200 list). */
  async function idsOf(query: string | URLSearchParams): Promise<string[]> {
    const { status, body } = await listEvents(query)
    expect(status, JSON.stringify(body)).toBe(200)
    return body.data.map((event) => event.id)
  }

  /** A fresh organization, so a test's events are its own whatever else the run emitted. */
  async function newOrganization(): Promise<string> {
    const domain = `events-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.example`
    const response = await fetch(
      `${EMULATOR}/__organizations`,
      json({ name: 'Events', domains: [domain] }),
    )
    return ((await response.json()) as { id: string }).id
  }

  /** Adds (or changes) a membership, which emits organization_membership.created (.updated). */
  async function putMember(organization: string, email: string, role = 'member') {
    const response = await fetch(
      `${EMULATOR}/__organizations/${organization}/memberships/${encodeURIComponent(email)}`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: `{"role":"${role}"}`,
      },
    )
    return ((await response.json()) as { eventId: string }).eventId
  }

  async function removeMember(organization: string, email: string) {
    const response = await fetch(
      `${EMULATOR}/__organizations/${organization}/memberships/${encodeURIComponent(email)}`,
      { method: 'DELETE' },
    )
    return ((await response.json()) as { eventId: string }).eventId
  }

  /** `count` organization_membership.created events of a fresh organization, oldest first. */
  async function memberships(count: number) {
    const organization = await newOrganization()
    const eventIds: string[] = []
    for (let i = 0; i < count; i++) eventIds.push(await putMember(organization, uniqueEmail()))
    return { organization, eventIds }
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  it('pages forward with `after` and `limit`, oldest first, each event as its webhook body', async () => {
    // Several events in the same millisecond: their random ids must not decide the order.
    const { organization, eventIds } = await memberships(5)
    const query = (after?: string) =>
      new URLSearchParams({
        events: 'organization_membership.created',
        organization_id: organization,
        limit: '2',
        ...(after && { after }),
      })
    const pages: string[][] = []
    let cursor: string | undefined
    for (let i = 0; i < 4; i++) {
      const { status, body } = await listEvents(query(cursor))
      expect(status).toBe(200)
      expect(body.object).toBe('list')
      const ids = body.data.map((event) => event.id)
      expect(body.list_metadata).toEqual({ before: ids[0] ?? null, after: ids.at(-1) ?? null })
      pages.push(ids)
      cursor = body.list_metadata.after ?? undefined
    }
    expect(pages).toEqual([eventIds.slice(0, 2), eventIds.slice(2, 4), eventIds.slice(4), []])

    // Each event is the webhook WorkOS delivered, with `object: "event"`.
    const listed = (await listEvents(query())).body.data[0]!
    const delivered = (await (
      await fetch(`${EMULATOR}/__webhooks?organization=${organization}`)
    ).json()) as { deliveries: { id: string; body: string }[] }
    const body = delivered.deliveries.find((delivery) => delivery.id === listed.id)!.body
    expect(listed).toEqual({ object: 'event', ...JSON.parse(body) })
    expect(Object.keys(JSON.parse(body))).toEqual(['id', 'event', 'data', 'created_at'])
  })

  it('defaults to 10 a page', async () => {
    const { organization, eventIds } = await memberships(11)
    expect(
      await idsOf(`events=organization_membership.created&organization_id=${organization}`),
    ).toEqual(eventIds.slice(0, 10))
  })

  it('filters by event type, comma-joined (as the SDK sends it), repeated or as events[]', async () => {
    const organization = await newOrganization()
    const email = uniqueEmail()
    const created = await putMember(organization, email)
    await putMember(organization, email, 'admin') // organization_membership.updated
    const deleted = await removeMember(organization, email)
    const org = `organization_id=${organization}`
    // The SDK's getQueryString hands an array to URLSearchParams, which joins it with commas.
    const commaJoined = new URLSearchParams({
      events: ['organization_membership.created', 'organization_membership.deleted'].join(','),
      organization_id: organization,
    })
    expect(await idsOf(commaJoined)).toEqual([created, deleted])
    expect(
      await idsOf(
        `events=organization_membership.created&events=organization_membership.deleted&${org}`,
      ),
    ).toEqual([created, deleted])
    expect(
      await idsOf(
        `events%5B%5D=organization_membership.created&events[]=organization_membership.deleted&${org}`,
      ),
    ).toEqual([created, deleted])
    expect(await idsOf(`events=organization_membership.deleted&${org}`)).toEqual([deleted])
    expect(await idsOf(`events=user.deleted&${org}`)).toEqual([])
  })

  it('filters by organization_id', async () => {
    const one = await memberships(1)
    const other = await memberships(1)
    expect(
      await idsOf(`events=organization_membership.created&organization_id=${other.organization}`),
    ).toEqual(other.eventIds)
    expect(
      await idsOf(`events=organization_membership.created&organization_id=${one.organization}`),
    ).toEqual(one.eventIds)
  })

  it('lists newest first with order=desc, `after` then paging on to older events', async () => {
    const { organization, eventIds } = await memberships(3)
    const base = `events=organization_membership.created&organization_id=${organization}`
    const first = await listEvents(`${base}&order=desc&limit=2`)
    expect(first.body.data.map((event) => event.id)).toEqual([eventIds[2], eventIds[1]])
    expect(first.body.list_metadata).toEqual({ before: eventIds[2], after: eventIds[1] })
    expect(await idsOf(`${base}&order=desc&limit=2&after=${eventIds[1]}`)).toEqual([eventIds[0]])
    expect(await idsOf(`${base}&order=asc`)).toEqual(eventIds)
  })

  it('lists the events before a cursor with `before`', async () => {
    const { organization, eventIds } = await memberships(4)
    const base = `events=organization_membership.created&organization_id=${organization}`
    expect(await idsOf(`${base}&before=${eventIds[3]}&limit=2`)).toEqual(eventIds.slice(1, 3))
    expect(await idsOf(`${base}&before=${eventIds[0]}`)).toEqual([])
  })

  it('filters by range_start (inclusive) and range_end (exclusive)', async () => {
    const organization = await newOrganization()
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      ids.push(await putMember(organization, uniqueEmail()))
      await sleep(5)
    }
    const base = `events=organization_membership.created&organization_id=${organization}`
    const events = (await listEvents(base)).body.data
    const at = events.map((event) => (event as unknown as { created_at: string }).created_at)
    expect(new Set(at).size).toBe(3)
    const range = (start?: string, end?: string) =>
      idsOf(
        `${base}${start ? `&range_start=${encodeURIComponent(start)}` : ''}${end ? `&range_end=${encodeURIComponent(end)}` : ''}`,
      )
    expect(await range(at[1])).toEqual(ids.slice(1))
    expect(await range(undefined, at[1])).toEqual(ids.slice(0, 1))
    expect(await range(at[1], at[2])).toEqual([ids[1]])
    expect(await range('2000-01-01T00:00:00Z', '2000-01-02')).toEqual([])
  })

  it.each([
    ['no events', () => ''],
    ['an empty events', () => 'events='],
    ['an events of commas only', () => 'events=,,'],
    ['an unknown after id', () => 'events=user.deleted&after=event_01UNKNOWN'],
    ['an unknown before id', () => 'events=user.deleted&before=event_01UNKNOWN'],
    ['limit 0', () => 'events=user.deleted&limit=0'],
    ['limit 101', () => 'events=user.deleted&limit=101'],
    ['a limit that is not a number', () => 'events=user.deleted&limit=ten'],
    ['an order other than asc or desc', () => 'events=user.deleted&order=sideways'],
    ['a range_start that is not ISO 8601', () => 'events=user.deleted&range_start=yesterday'],
    ['a range_end that is not a date', () => 'events=user.deleted&range_end=2024-13-45'],
    [
      'a range_end before range_start',
      () => 'events=user.deleted&range_start=2024-02-01T00:00:00Z&range_end=2024-01-01T00:00:00Z',
    ],
    [
      'range_start together with after',
      (known: string) => `events=user.deleted&after=${known}&range_start=2024-01-01T00:00:00Z`,
    ],
  ])('answers 422 for %s, in WorkOS error shape', async (_, query) => {
    const [known] = (await memberships(1)).eventIds
    const { status, body } = await listEvents(query(known!))
    expect(status).toBe(422)
    expect(body).toMatchObject({
      message: expect.any(String),
      code: 'invalid_request_parameters',
    })
  })

  it('accepts an after id from another filter (a cursor is a place in the whole log)', async () => {
    const { organization, eventIds } = await memberships(2)
    const other = await memberships(1)
    const base = `events=organization_membership.created&organization_id=${organization}`
    expect(await idsOf(`${base}&after=${other.eventIds[0]}`)).toEqual([])
    expect(await idsOf(`${base}&after=${eventIds[0]}`)).toEqual([eventIds[1]])
  })

  it('requires the API key: 401 without it or with a wrong one', async () => {
    const noKey: Record<string, string> = {}
    for (const headers of [noKey, { authorization: 'Bearer sk_test_wrong' }]) {
      const response = await fetch(`${EMULATOR}/events?events=user.deleted`, { headers })
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ code: 'unauthorized' })
    }
  })
})

describe('emulator: the event log behind GET /events', () => {
  const eventAt = (at: number, n: number) => ({
    json: {
      object: 'event' as const,
      id: `event_${n}`,
      event: 'user.deleted',
      data: {},
      created_at: new Date(at).toISOString(),
    },
    at,
    organizationId: undefined,
  })

  it('keeps 30 days of events, as WorkOS does', () => {
    const log = new EventLog()
    const start = Date.UTC(2026, 0, 1)
    for (let day = 0; day < 3; day++) log.record(eventAt(start + day * 86_400_000, day))
    expect(log.list(start + 2 * 86_400_000).map((e) => e.json.id)).toHaveLength(3)
    const ids = log.list(start + 86_400_000 + EVENT_RETENTION_MS).map((e) => e.json.id)
    expect(ids).toEqual(['event_1', 'event_2'])
    expect(EVENT_RETENTION_MS).toBe(30 * 86_400_000)
  })

  it('keeps at most 10,000 events, dropping the oldest', () => {
    const log = new EventLog()
    const start = Date.now()
    for (let n = 0; n < EVENT_LOG_CAP + 3; n++) log.record(eventAt(start + n, n))
    const kept = log.list(start + EVENT_LOG_CAP + 3)
    expect(EVENT_LOG_CAP).toBe(10_000)
    expect(kept).toHaveLength(EVENT_LOG_CAP)
    expect(kept[0]!.json.id).toBe('event_3')
    expect(kept.at(-1)!.json.id).toBe(`event_${EVENT_LOG_CAP + 2}`)
  })
})

describe('emulator: dropped webhook deliveries (/__webhooks/delivery)', () => {
  const API_KEY = { authorization: 'Bearer sk_test_emulator' }

  const setDrop = (body: unknown) => fetch(`${EMULATOR}/__webhooks/delivery`, json(body))
  const dropping = async () =>
    ((await (await fetch(`${EMULATOR}/__webhooks/delivery`)).json()) as { drop: boolean }).drop

  async function deleteNewUser(): Promise<string> {
    const { userId } = await emulatorSdk().userManagement.createMagicAuth({ email: uniqueEmail() })
    await emulatorSdk().userManagement.deleteUser(userId)
    return userId
  }

  async function deliveredDeletionOf(userId: string) {
    const response = await fetch(`${EMULATOR}/__webhooks?user=${userId}&event=user.deleted`)
    return ((await response.json()) as { deliveries: unknown[] }).deliveries
  }

  async function listedDeletionOf(userId: string) {
    const response = await fetch(`${EMULATOR}/events?events=user.deleted&order=desc&limit=100`, {
      headers: API_KEY,
    })
    const page = (await response.json()) as { data: { id: string; data: { id: string } }[] }
    return page.data.filter((event) => event.data.id === userId)
  }

  it('loses the webhook while dropping, yet GET /events still lists the event', async () => {
    expect(await dropping()).toBe(false)
    expect((await setDrop({ drop: true })).status).toBe(200)
    expect(await dropping()).toBe(true)
    const lost = await deleteNewUser()
    expect(await deliveredDeletionOf(lost)).toEqual([])
    expect(await listedDeletionOf(lost)).toHaveLength(1)

    expect((await setDrop({ drop: false })).status).toBe(200)
    expect(await dropping()).toBe(false)
    const delivered = await deleteNewUser()
    expect(await deliveredDeletionOf(delivered)).toHaveLength(1)
    expect(await listedDeletionOf(delivered)).toHaveLength(1)
  })

  it('is turned off by the fault reset (DELETE /__faults)', async () => {
    await setDrop({ drop: true })
    await clearFaults()
    expect(await dropping()).toBe(false)
    const userId = await deleteNewUser()
    expect(await deliveredDeletionOf(userId)).toHaveLength(1)
  })

  it.each([[{}], [{ drop: 'yes' }], [{ drop: 1 }], [{ drop: true, extra: 1 }], [null], [[true]]])(
    'refuses %j with 400 and changes nothing',
    async (body) => {
      expect((await setDrop(body)).status).toBe(400)
      expect(await dropping()).toBe(false)
    },
  )
})
