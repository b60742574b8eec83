// The app launcher in a real browser: `npm run dev` with an ACCESS policy; a person opens
// /auth/apps, signs in, sees the applications they may open (and not the one they may not),
// opens one and lands on the demo origin through its route; the 403 page leads back to the list.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './browser.ts'
import { startDevServer, type DevServer } from './dev-server.ts'
import { codeFromMailbox } from './mailbox.ts'

const SCREENSHOTS = new URL('../docs/screenshots/', import.meta.url).pathname

let server: DevServer
let browser: Browser

before(async () => {
  server = await startDevServer([
    '--var',
    `ACCESS:${JSON.stringify({
      routes: [
        { name: 'status', path: '/status', public: true },
        { name: 'docs', path: '/docs/*', public: true, launcher: { title: 'Handbook' } },
        {
          name: 'grafana',
          path: '/grafana/*',
          allow: [{ domains: ['example.com'] }],
          launcher: { title: 'Grafana', url: '/grafana/dashboards' },
        },
        { name: 'admin', path: '/admin/*', allow: [{ emails: ['boss@example.com'] }] },
        { name: 'app', path: '/*', launcher: { title: 'Demo app' } },
      ],
    })}`,
  ])
  browser = await launchChromium()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

async function signInWithCode(page: Page, email: string) {
  await page.getByLabel('Email address').fill(email)
  await page.getByRole('button', { name: 'Email me a sign-in code' }).click()
  await page.waitForURL(/\/auth\/code$/)
  await page.getByLabel('Sign-in code').fill(await codeFromMailbox(server.url, email))
  await page.getByRole('button', { name: 'Sign in' }).click()
}

describe('the app launcher in a real browser', () => {
  it('lists what the person may open; a click opens it; the 403 page leads back', async () => {
    const context = await browser.newContext({ viewport: { width: 420, height: 860 } })
    const page = await context.newPage()
    const email = `launcher-${Date.now().toString(36)}@example.com`

    // Not signed in: the launcher sends the person to sign in, and back.
    await page.goto(`${server.url}/auth/apps`)
    assert.match(page.url(), /\/auth\/login\?returnTo=%2Fauth%2Fapps$/)
    await signInWithCode(page, email)
    await page.waitForURL(`${server.url}/auth/apps`)

    const links = page.locator('main ul a')
    assert.deepEqual(await links.allTextContents(), ['Handbook', 'Grafana', 'Demo app'])
    assert.ok(((await page.textContent('main')) ?? '').includes(email))
    await page.screenshot({ path: `${SCREENSHOTS}apps.png`, fullPage: true })

    // A click lands on the application, through its own route, as the person.
    await page.getByRole('link', { name: 'Grafana' }).click()
    await page.waitForURL(`${server.url}/grafana/dashboards`)
    assert.equal(await page.locator('#route').textContent(), 'grafana')
    assert.equal(await page.locator('#email').textContent(), email)
    await page.screenshot({ path: `${SCREENSHOTS}apps-opened.png`, fullPage: true })

    // Refused elsewhere, the 403 page links back to the list.
    const refused = await page.goto(`${server.url}/admin/users`)
    assert.equal(refused?.status(), 403)
    await page.getByRole('link', { name: 'See the applications you can open' }).click()
    await page.waitForURL(`${server.url}/auth/apps`)
    assert.equal(await links.count(), 3)
    await context.close()
  })
})
