/// <reference lib="dom" />
// An origin's service worker in a real browser. The origin's pages share the browser origin with
// the gateway's /auth/ pages; a worker whose scope covered them would see the navigation to
// /auth/callback?code=… or /auth/magic/<token> and could send it home (the account with it). The
// demo origin serves such a worker at any …/sw.js; it reports every navigation it sees.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './browser.ts'
import { startDevServer, type DevServer } from './dev-server.ts'

let server: DevServer
let browser: Browser

before(async () => {
  // Every page public: the attack needs no account of its own.
  server = await startDevServer([
    '--var',
    `ACCESS:${JSON.stringify({ routes: [{ name: 'site', path: '/*', public: true }] })}`,
  ])
  browser = await launchChromium()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

/** Registers a worker from the page; "registered <scope>" or the browser's error. */
function register(page: Page, script: string, options: RegistrationOptions) {
  return page.evaluate(
    async ({ script, options }) => {
      try {
        const registration = await navigator.serviceWorker.register(script, options)
        return `registered ${new URL(registration.scope).pathname}`
      } catch (error) {
        return `refused: ${String(error)}`
      }
    },
    { script, options },
  )
}

/** The navigations the origin's workers reported. */
async function seenByWorkers(): Promise<string[]> {
  const response = await fetch(`${server.url}/__sw-seen`, {
    headers: { accept: 'application/json' },
  })
  return ((await response.json()) as { seen: string[] }).seen.map((url) => new URL(url).pathname)
}

async function signInByLink(page: Page, email: string) {
  await page.goto(`${server.url}/auth/login?returnTo=%2Fstatic%2Fhome`)
  await page.getByLabel('Email address').fill(email)
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click()
  await page.waitForURL(/\/auth\/check-email$/)
  let link: string | null = null
  for (let attempt = 0; attempt < 50 && !link; attempt++) {
    const response = await fetch(`${server.url}/__dev/mailbox.json?to=${encodeURIComponent(email)}`)
    link =
      ((await response.json()) as { messages: { link: string | null }[] }).messages[0]?.link ?? null
    if (!link) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.ok(link, 'no link was mailed')
  await page.goto(link)
  await page.waitForURL(`${server.url}/static/home`)
}

describe('an origin’s service worker', () => {
  it('cannot take a scope over /auth/, and sees no sign-in navigation', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${server.url}/static/page`)
    assert.match((await page.textContent('h1')) ?? '', /Demo origin/)

    // The classic: /sw.js with scope "/".
    assert.match(await register(page, '/sw.js', { scope: '/' }), /^refused: .*403/)
    // A script under /static/ whose answer widens its scope to "/".
    assert.match(
      await register(page, '/static/sw.js?allowed=%2F', { scope: '/' }),
      /^refused: .*403/,
    )
    // The same two, fetched first as ordinary scripts so the browser could register the copy in
    // its HTTP cache (updateViaCache: "all") without the gateway seeing the worker's fetch.
    await page.evaluate(async () => {
      await fetch('/sw.js')
      await fetch('/static/sw.js?allowed=%2F')
    })
    assert.match(await register(page, '/sw.js', { scope: '/', updateViaCache: 'all' }), /^refused/)
    assert.match(
      await register(page, '/static/sw.js?allowed=%2F', { scope: '/', updateViaCache: 'all' }),
      /^refused/,
    )

    // A worker over the origin's own folder registers (so the refusals above are the gateway's).
    assert.equal(
      await register(page, '/static/sw.js', { scope: '/static/' }),
      'registered /static/',
    )
    await page.evaluate(() => navigator.serviceWorker.ready)

    // A whole Magic Link sign-in in this browser: the sign-in page, the link, the callback.
    await signInByLink(page, `sw-${Date.now().toString(36)}@example.com`)
    // Then a navigation the worker does see, which proves it reports what it sees.
    await page.goto(`${server.url}/static/after`)
    let seen: string[] = []
    for (let attempt = 0; attempt < 50 && !seen.includes('/static/after'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      seen = await seenByWorkers()
    }
    assert.ok(seen.includes('/static/after'), `the /static/ worker saw: ${seen.join(', ')}`)
    assert.deepEqual(
      seen.filter((path) => !path.startsWith('/static/')),
      [],
      'an origin worker saw a navigation outside /static/',
    )
    const scopes = await page.evaluate(async () =>
      (await navigator.serviceWorker.getRegistrations()).map((r) => new URL(r.scope).pathname),
    )
    assert.deepEqual(scopes, ['/static/'])
    await context.close()
  })
})
