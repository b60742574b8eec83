import { describe, expect, it } from 'vitest'
import { gateway, json, signIn } from './helpers'

// Without SIGN_IN_HOST, an origin's page shares the browser origin with the gateway's pages, and a
// script on it sends the person's cookie with every fetch() (README "What an origin on the same
// host as sign-in can do"). What it must not get: a new second factor's secret, the sessions list,
// the power to end one session or all of them. A browser marks a script's request with
// Sec-Fetch-Mode (cors, same-origin, no-cors), which the script cannot change.

const fromScript = (cookie: string, mode = 'cors', dest = 'empty') => ({
  cookie,
  origin: 'https://gateway.test',
  'sec-fetch-mode': mode,
  'sec-fetch-site': 'same-origin',
  'sec-fetch-dest': dest,
})
// A form the script submits into a hidden frame: a navigation, but not of the window.
const fromHiddenFrame = (cookie: string) => fromScript(cookie, 'navigate', 'iframe')

describe('a script on an origin page of the same host', () => {
  it('cannot enrol a second factor and read its secret', async () => {
    const { cookie } = await signIn()
    for (const mode of ['cors', 'same-origin', 'no-cors']) {
      const answer = await gateway('/auth/mfa/enroll', json({}, fromScript(cookie, mode)))
      expect(answer.status, mode).toBe(403)
      const body = (await answer.json()) as Record<string, unknown>
      expect(body).toMatchObject({ error: 'navigation_required' })
      expect(body.secret).toBeUndefined()
    }
  })

  it('cannot list the person’s sessions, end one, or sign out everywhere', async () => {
    const { cookie } = await signIn()
    const listed = await gateway('/auth/sessions', {
      headers: { ...fromScript(cookie), accept: 'application/json' },
    })
    expect(listed.status).toBe(403)
    expect(await listed.text()).not.toContain('"sid"')
    const revoked = await gateway('/auth/sessions/abc/revoke', json({}, fromScript(cookie)))
    expect(revoked.status).toBe(403)
    const everywhere = await gateway('/auth/logout', json({ everywhere: true }, fromScript(cookie)))
    expect(everywhere.status).toBe(403)
    // …nor by a form submitted into a hidden frame, whose answer the page never shows.
    const framed = await gateway('/auth/logout', {
      method: 'POST',
      headers: { ...fromHiddenFrame(cookie), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'everywhere=1',
    })
    expect(framed.status).toBe(403)
    const framedRevoke = await gateway('/auth/sessions/abc/revoke', {
      method: 'POST',
      headers: { ...fromHiddenFrame(cookie), 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    })
    expect(framedRevoke.status).toBe(403)
    // Still signed in: none of it happened.
    expect((await gateway('/auth/me', { headers: { cookie } })).status).toBe(200)
  })

  it('the person’s own navigations and clients that are not browsers keep working', async () => {
    const { cookie } = await signIn()
    // A navigation (the gateway's own pages: links and forms).
    const page = await gateway('/auth/sessions', {
      headers: {
        cookie,
        accept: 'text/html',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-dest': 'document',
      },
    })
    expect(page.status).toBe(200)
    // A command-line client: no Sec-Fetch-* at all, or Node's fetch (Sec-Fetch-Mode: cors alone).
    for (const extra of [{}, { 'sec-fetch-mode': 'cors' }] as Record<string, string>[]) {
      const listed = await gateway('/auth/sessions', {
        headers: { cookie, accept: 'application/json', ...extra },
      })
      expect(listed.status).toBe(200)
    }
    // An app's script may still read who is signed in and sign this browser out.
    expect((await gateway('/auth/me', { headers: fromScript(cookie) })).status).toBe(200)
    const out = await gateway('/auth/logout', json({}, fromScript(cookie)))
    expect(out.status).toBe(200)
    expect((await gateway('/auth/me', { headers: { cookie } })).status).toBe(401)
  })
})
