// A real browser walks the sign-in as a person would: Debian's Chromium driven by playwright-core
// against `npm run dev` on free loopback ports. Screenshots of every page land in docs/screenshots.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { launchChromium } from './browser.ts'
import { startDevServer, type DevServer } from './dev-server.ts'

const SCREENSHOTS = new URL('../docs/screenshots/', import.meta.url).pathname

let server: DevServer
let browser: Browser

const uniqueEmail = (label: string) => `${label}-${Date.now().toString(36)}@example.com`

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  // A phone-sized window: the pages must read well there.
  const context = await browser.newContext({ viewport: { width: 420, height: 860 } })
  return { context, page: await context.newPage() }
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true })
}

type Mail = { link: string | null; code: string | null }

/**
 * The mail for `email` on a dev server, waiting briefly for it: with EMAIL_DELIVERY=custom the
 * gateway sends after answering, as a person's inbox would receive it a moment later.
 */
async function mailOn(base: string, email: string): Promise<Mail[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const response = await fetch(`${base}/__dev/mailbox.json?to=${encodeURIComponent(email)}`)
    const { messages } = (await response.json()) as { messages: Mail[] }
    if (messages.length > 0) return messages
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return []
}

const mailFor = (email: string) => mailOn(server.url, email)

/** Signs `page` in as `email` with a code from the dev mailbox, landing on the home page. */
async function signInWithCode(page: Page, email: string) {
  await page.goto(`${server.url}/auth/login`)
  await page.getByLabel('Email address').fill(email)
  await page.getByRole('button', { name: 'Email me a sign-in code' }).click()
  await page.waitForURL(/\/auth\/code$/)
  const [message] = await mailFor(email)
  await page.getByLabel('Sign-in code').fill(message!.code!)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${server.url}/`)
}

before(async () => {
  server = await startDevServer()
  browser = await launchChromium()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

describe('sign-in in a real browser', () => {
  it('Magic Link: deep link → sign-in page → email → dev mailbox → link → back on the deep link', async () => {
    const { context, page } = await newPage()
    const email = uniqueEmail('link')
    await page.goto(`${server.url}/reports/q3?format=pdf`)
    assert.match(page.url(), /\/auth\/login\?returnTo=%2Freports%2Fq3%3Fformat%3Dpdf$/)
    // The email field has the focus, so a person can type straight away.
    await page.waitForFunction('document.activeElement && document.activeElement.id === "email"')
    await page.getByLabel('Email address').fill(email)
    await shot(page, 'login')
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click()
    await page.waitForURL(/\/auth\/check-email$/)
    await shot(page, 'check-email')
    await page.getByRole('link', { name: 'dev mailbox' }).click()
    await page.waitForURL(/\/__dev\/mailbox$/)
    await shot(page, 'mailbox')
    const [message] = await mailFor(email)
    assert.ok(message?.link)
    await page.goto(message.link)
    assert.equal(
      page.url(),
      `${server.url}/reports/q3?format=pdf`,
      (await page.textContent('body')) ?? '',
    )
    assert.equal(await page.locator('#email').textContent(), email)
    await shot(page, 'signed-in')

    // The same link again, opened where nobody is signed in: spent, and the page says so.
    const later = await newPage()
    await later.page.goto(message.link)
    await later.page.waitForURL(/error=expired/)
    assert.match(
      (await later.page.locator('[role=alert]').textContent()) ?? '',
      /expired or was already used/,
    )
    await shot(later.page, 'link-expired')
    await later.context.close()
    await context.close()
  })

  it('Magic Auth: the code typed on the code page signs in; a wrong code is explained', async () => {
    const { context, page } = await newPage()
    const email = uniqueEmail('code')
    await page.goto(`${server.url}/`)
    await page.getByLabel('Email address').fill(email)
    await page.getByRole('button', { name: 'Email me a sign-in code' }).click()
    await page.waitForURL(/\/auth\/code$/)
    const codeField = page.getByLabel('Sign-in code')
    assert.equal(await codeField.getAttribute('autocomplete'), 'one-time-code')
    assert.equal(await codeField.getAttribute('inputmode'), 'numeric')
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'code')
    assert.match((await page.textContent('main')) ?? '', new RegExp(email.replace('.', '\\.')))
    await shot(page, 'code')

    const [message] = await mailFor(email)
    assert.match(message?.code ?? '', /^\d{6}$/)
    const wrong = String((Number(message!.code) + 1) % 1e6).padStart(6, '0')
    await codeField.fill(wrong)
    await page.keyboard.press('Enter')
    await page.waitForLoadState()
    assert.match((await page.locator('[role=alert]').textContent()) ?? '', /not right/)
    await shot(page, 'code-wrong')

    await page.getByLabel('Sign-in code').fill(message!.code!)
    await page.keyboard.press('Enter')
    await page.waitForURL(`${server.url}/`)
    assert.equal(await page.locator('#email').textContent(), email)
    await context.close()
  })

  it('sessions page: two browsers listed; sign out everywhere ends both', async () => {
    const email = uniqueEmail('sessions')
    const first = await newPage()
    const second = await newPage()
    await signInWithCode(first.page, email)
    await signInWithCode(second.page, email)
    await second.page.goto(`${server.url}/auth/sessions`)
    assert.equal(
      await second.page.getByRole('button', { name: /^Sign out (?!everywhere)/ }).count(),
      2,
    )
    await shot(second.page, 'sessions')
    await second.page.getByRole('button', { name: 'Sign out everywhere' }).click()
    await second.page.waitForURL(/signed_out=1/)
    assert.match((await second.page.textContent('main')) ?? '', /You are signed out/)
    await shot(second.page, 'signed-out')
    await first.page.goto(`${server.url}/private`)
    assert.match(first.page.url(), /\/auth\/login\?returnTo=%2Fprivate$/)
    await first.context.close()
    await second.context.close()
  })

  it('an open WebSocket is closed within 1 s of sign out everywhere in another browser', async () => {
    const email = uniqueEmail('socket')
    const first = await newPage()
    const second = await newPage()
    for (const { page } of [first, second]) await signInWithCode(page, email)
    // The first browser's page holds a socket to the demo origin's echo, and notes when it closes.
    await first.page.goto(`${server.url}/reports`)
    await first.page.evaluate(
      async (url) => {
        const state = { closed: null as null | { code: number; reason: string; at: number } }
        ;(window as unknown as { socketState: typeof state }).socketState = state
        await new Promise<void>((resolve, reject) => {
          const socket = new WebSocket(url)
          socket.onmessage = () => resolve()
          socket.onerror = () => reject(new Error('socket error'))
          socket.onclose = (event) => {
            state.closed = { code: event.code, reason: event.reason, at: Date.now() }
          }
        })
      },
      `${server.url.replace('http', 'ws')}/__ws`,
    )

    await second.page.goto(`${server.url}/auth/sessions`)
    const clickedAt = await second.page.evaluate(() => Date.now())
    await second.page.getByRole('button', { name: 'Sign out everywhere' }).click()
    await second.page.waitForURL(/signed_out=1/)
    const closed = await first.page.waitForFunction(
      () => (window as unknown as { socketState: { closed: unknown } }).socketState.closed,
      undefined,
      { timeout: 5000 },
    )
    const { code, at } = (await closed.jsonValue()) as { code: number; at: number }
    // Default settings: WEBSOCKET_RECHECK_SECONDS is 30, so only the pushed end closes it in time.
    assert.equal(code, 1008)
    const lagMs = at - clickedAt
    console.log(JSON.stringify({ browserSocketCloseAfterSignOutEverywhereMs: lagMs }))
    assert.ok(lagMs < 1000, `closed ${lagMs} ms after the click`)
    await first.context.close()
    await second.context.close()
  })

  it('a link opened in another browser asks for confirmation first', async () => {
    const asking = await newPage()
    const email = uniqueEmail('other-device')
    await asking.page.goto(`${server.url}/auth/login?returnTo=%2Fwelcome`)
    await asking.page.getByLabel('Email address').fill(email)
    await asking.page.getByRole('button', { name: 'Email me a sign-in link' }).click()
    await asking.page.waitForURL(/check-email/)
    const [message] = await mailFor(email)
    const other = await newPage()
    await other.page.goto(message!.link!)
    assert.match((await other.page.textContent('h1')) ?? '', /Confirm sign-in/)
    assert.match(
      (await other.page.textContent('main')) ?? '',
      new RegExp(email.replace('.', '\\.')),
    )
    await shot(other.page, 'confirm')
    await other.page.getByRole('button', { name: `Sign in as ${email}` }).click()
    await other.page.waitForURL(`${server.url}/welcome`)
    await asking.context.close()
    await other.context.close()
  })

  it('the demo origin’s sign-out button signs out; an unknown page shows the error page', async () => {
    const { context, page } = await newPage()
    const email = uniqueEmail('signout')
    await page.goto(`${server.url}/`)
    await page.getByLabel('Email address').fill(email)
    await page.getByRole('button', { name: 'Email me a sign-in code' }).click()
    await page.waitForURL(/\/auth\/code$/)
    await page.getByLabel('Sign-in code').fill((await mailFor(email))[0]!.code!)
    await page.keyboard.press('Enter')
    await page.waitForURL(`${server.url}/`)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/signed_out=1/)
    await page.goto(`${server.url}/auth/nothing-here`)
    assert.match((await page.textContent('main')) ?? '', /no such sign-in page/)
    await shot(page, 'error')
    await context.close()
  })
})

describe('scanner-proof links in a real browser (EMAIL_DELIVERY=custom)', () => {
  let custom: DevServer

  before(async () => {
    custom = await startDevServer(['--var', 'EMAIL_DELIVERY:custom'])
  })
  after(async () => {
    await custom?.stop()
  })

  it('the emailed link shows a Continue page; only the click signs in', async () => {
    const { context, page } = await newPage()
    const email = uniqueEmail('continue')
    await page.goto(`${custom.url}/auth/login?returnTo=%2Fdocs`)
    await page.getByLabel('Email address').fill(email)
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click()
    await page.waitForURL(/check-email/)
    const [message] = (await mailOn(custom.url, email)) as { link: string }[]
    assert.match(message!.link, /\/auth\/magic\//)
    // A scanner's GET changes nothing; the person's page names the account.
    await (await fetch(message!.link)).text()
    await page.goto(message!.link)
    assert.match(
      (await page.textContent('main')) ?? '',
      new RegExp(`Continue as ${email.replace('.', '\\.')}`),
    )
    await shot(page, 'continue')
    await page.getByRole('button', { name: `Continue as ${email}` }).click()
    await page.waitForURL(`${custom.url}/docs`)
    assert.equal(await page.locator('#email').textContent(), email)
    await context.close()
  })
})
