import type { Hono } from 'hono'
import { apiError } from '../errors.ts'
import { opaqueToken, workosId } from '../ids.ts'
import {
  MAGIC_LINK_DEFAULT_TTL_S,
  SSO_CODE_TTL_MS,
  type EmulatorState,
  type PasswordlessSession,
} from '../state.ts'

// Magic Link (WorkOS API reference, Passwordless): create a passwordless session, have WorkOS email it, and the
// link itself, which is spent on the first GET (as a mail scanner would spend it).

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

export function passwordlessRoutes(app: Hono, state: EmulatorState) {
  app.post('/passwordless/sessions', async (c) => {
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null
    const errors: { field: string; code: string }[] = []
    const email = body?.email
    if (typeof email !== 'string' || !EMAIL_SHAPE.test(email))
      errors.push({ field: 'email', code: 'email must be a valid email address' })
    if (body?.type !== 'MagicLink')
      errors.push({ field: 'type', code: 'type must be a valid enum value' })
    const expiresIn = body?.expires_in ?? MAGIC_LINK_DEFAULT_TTL_S
    if (
      typeof expiresIn !== 'number' ||
      !Number.isInteger(expiresIn) ||
      expiresIn < 900 ||
      expiresIn > 86400
    )
      errors.push({ field: 'expires_in', code: 'expires_in must be between 900 and 86400' })
    if (body?.state !== undefined && typeof body.state !== 'string')
      errors.push({ field: 'state', code: 'state must be a string' })
    if (errors.length > 0 || !body || typeof email !== 'string')
      return apiError(c, 422, { message: 'Validation failed', errors })

    const redirectUri =
      typeof body.redirect_uri === 'string' ? body.redirect_uri : state.options.redirectUris[0]
    if (!redirectUri || !state.isAllowedRedirectUri(redirectUri)) {
      return apiError(c, 422, {
        message: `The redirect_uri '${redirectUri ?? ''}' is not an allowed redirect URI for this environment.`,
        code: 'invalid_redirect_uri',
      })
    }

    const session: PasswordlessSession = {
      id: workosId('passwordless_session'),
      email,
      redirectUri,
      state: body.state as string | undefined,
      expiresAt: state.now() + (expiresIn as number) * 1000,
      token: opaqueToken(),
      used: false,
    }
    state.sessions.set(session.id, session)
    state.sessionsByToken.set(session.token, session)
    return c.json(
      {
        object: 'passwordless_session',
        id: session.id,
        email: session.email,
        expires_at: new Date(session.expiresAt).toISOString(),
        link: linkFor(new URL(c.req.url).origin, session),
      },
      201,
    )
  })

  app.post('/passwordless/sessions/:id/send', (c) => {
    const id = c.req.param('id')
    const session = state.sessions.get(id)
    if (!session || session.used || session.expiresAt <= state.now()) {
      return apiError(c, 422, {
        message: `The passwordless session '${id}' has expired or is invalid.`,
      })
    }
    const link = linkFor(new URL(c.req.url).origin, session)
    state.deliver({
      via: 'workos',
      to: session.email,
      subject: 'Your Magic Link',
      link,
      code: null,
      text: `Click to sign in: ${link}\nThis link expires soon and can only be used once.`,
    })
    return c.json({ success: true }, 201)
  })

  app.get('/passwordless/:token/confirm', (c) => {
    const session = state.sessionsByToken.get(c.req.param('token'))
    if (!session) {
      return apiError(c, 404, { message: 'This Magic Link is invalid.', code: 'entity_not_found' })
    }
    const target = new URL(session.redirectUri)
    if (session.used || session.expiresAt <= state.now()) {
      target.searchParams.set('error', 'access_denied')
    } else {
      session.used = true
      const code = opaqueToken(20)
      state.codes.set(code, {
        code,
        email: session.email,
        expiresAt: state.now() + SSO_CODE_TTL_MS,
        used: false,
        api: 'sso',
      })
      target.searchParams.set('code', code)
    }
    if (session.state !== undefined) target.searchParams.set('state', session.state)
    return c.redirect(target.toString(), 302)
  })
}

const linkFor = (origin: string, session: PasswordlessSession) =>
  `${origin}/passwordless/${session.token}/confirm`
