// One sign-in for every host, in a real browser: `npm run dev` with SIGN_IN_HOST on *.localhost
// names (Chromium resolves them to loopback). A person signs in once on auth.localhost, reaches
// app.localhost and docs.localhost without another email, then signs out everywhere.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './browser.ts'
import { startDevServer, type DevServer } from './dev-server.ts'

const SCREENSHOTS = new URL('../docs/screenshots/', import.meta.url).pathname

let server: DevServer
let browser: Browser
let port: string

const on = (host: string, path = '/') => `http://${host}.localhost:${port}${path}`

async function mailCount(email: string): Promise<{ count: number; code: string | null }> {
  const response = await fetch(`${server.emulatorUrl}/__mailbox?to=${encodeURIComponent(email)}`)
  const { messages } = (await response.json()) as { messages: { code: string | null }[] }
  return { count: messages.length, code: messages[0]?.code ?? null }
}

/** On the sign-in host's form: asks for a code, reads it from the mailbox and types it. */
async function signInWithCode(page: Page, email: string, screenshot?: string) {
  await page.getByLabel('Email address').fill(email)
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true })
  await page.getByRole('button', { name: 'Email me a sign-in code' }).click()
  await page.waitForURL(/auth\.localhost:\d+\/auth\/code/)
  let mail = { count: 0, code: null as string | null }
  for (let i = 0; i < 50 && !mail.code; i++) {
    mail = await mailCount(email)
    if (!mail.code) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await page.getByLabel('Sign-in code').fill(mail.code!)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

before(async () => {
  server = await startDevServer([
    '--var',
    'SIGN_IN_HOST:auth.localhost',
    '--var',
    'ALLOWED_HOSTS:auth.localhost,app.localhost,docs.localhost',
  ])
  port = new URL(server.url).port
  browser = await launchChromium()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

describe('one sign-in for every host', () => {
  it('signs in once, opens a second host without another email, then signs out everywhere', async () => {
    const context = await browser.newContext({ viewport: { width: 420, height: 860 } })
    const page = await context.newPage()
    const email = `hosts-${Date.now().toString(36)}@example.com`

    await page.goto(on('app', '/reports'))
    // Sent to the sign-in host, which shows the one sign-in form.
    assert.equal(new URL(page.url()).hostname, 'auth.localhost')
    await signInWithCode(page, email, `${SCREENSHOTS}handoff-sign-in-host.png`)

    // Back on the app host, signed in there with a session of its own.
    await page.waitForURL(on('app', '/reports'))
    assert.equal(await page.locator('#email').textContent(), email)

    // A second host: through the sign-in host and straight back, no email.
    await page.goto(on('docs', '/guide'))
    await page.waitForURL(on('docs', '/guide'))
    assert.equal(await page.locator('#email').textContent(), email)
    assert.equal((await mailCount(email)).count, 1)
    await page.screenshot({ path: `${SCREENSHOTS}handoff-second-host.png`, fullPage: true })

    // The sessions page lists the host sessions; sign out everywhere from the docs host.
    await page.goto(on('docs', '/auth/sessions'))
    const listed = (await page.textContent('main')) ?? ''
    assert.ok(listed.includes('app.localhost') && listed.includes('docs.localhost'), listed)
    await page.screenshot({ path: `${SCREENSHOTS}handoff-sessions.png`, fullPage: true })
    await page.getByRole('button', { name: 'Sign out everywhere' }).click()
    await page.waitForURL(/\/auth\/login/)

    // Every host asks for a sign-in again.
    for (const host of ['app', 'docs']) {
      await page.goto(on(host, '/again'))
      assert.equal(new URL(page.url()).hostname, 'auth.localhost', `${host}: ${page.url()}`)
      assert.equal(new URL(page.url()).pathname, '/auth/login')
    }
    const me = await page.goto(on('auth', '/auth/me'))
    assert.equal(me?.status(), 401)
    await context.close()
  })

  it('"Sign out" on an app host sticks: the next visit shows the sign-in form', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const email = `shared-${Date.now().toString(36)}@example.com`
    await page.goto(on('app', '/desk'))
    await signInWithCode(page, email)
    await page.waitForURL(on('app', '/desk'))
    assert.equal(await page.locator('#email').textContent(), email)

    // The origin's own "Sign out" button (a form to /auth/logout on the app host).
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/auth\.localhost:\d+\/auth\/login/)
    await page.goto(on('app', '/desk'))
    assert.equal(new URL(page.url()).hostname, 'auth.localhost', page.url())
    assert.equal(new URL(page.url()).pathname, '/auth/login')
    assert.ok(await page.getByLabel('Email address').isVisible())
    await context.close()
  })
})
