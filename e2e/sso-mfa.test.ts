// Enterprise SSO and the second factor in a real browser, against `npm run dev` and the emulator's
// stand-in IdP (the "Acme" organization scripts/dev.ts seeds, domain acme.test): the one email
// field sends an Acme address to its IdP, what the IdP page says (groups) decides an ACCESS route,
// and a route asking for `mfa` enrols an authenticator whose code is computed from the secret the
// page shows, as an app would.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { totpCode } from '../emulator/totp.ts'
import { launchChromium } from './browser.ts'
import { startDevServer, type DevServer } from './dev-server.ts'

const SCREENSHOTS = new URL('../docs/screenshots/', import.meta.url).pathname
// Seeded by scripts/dev.ts with this fixed id, so a policy can name it.
const ACME = 'org_01ACME00000000000000000000'

let server: DevServer
let browser: Browser

const uniqueAcmeEmail = (label: string) => `${label}-${Date.now().toString(36)}@acme.test`

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 420, height: 860 } })
  return { context, page: await context.newPage() }
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true })
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Fills the emulator's IdP page as a person at Acme's identity provider would be described. */
async function fillIdpPage(page: Page, email: string, groups = 'eng, ops') {
  // Prefilled from the login hint.
  assert.equal(await page.getByLabel('Email').inputValue(), email)
  await page.getByLabel('First name').fill('Grace')
  await page.getByLabel('Last name').fill('Hopper')
  await page.getByLabel('Role (slug)').fill('admin')
  await page.getByLabel('Groups (comma-separated)').fill(groups)
}

const atIdp = (page: Page) =>
  page.waitForURL(new RegExp(`^${escape(server.emulatorUrl)}/sso/idp/`), { timeout: 10_000 })

/**
 * SSO started the bookmarkable way (GET /auth/sso?email=…&returnTo=…, an intranet link): a plain
 * navigation, so no form is involved on the way to the IdP.
 */
async function startSsoByLink(page: Page, email: string, returnTo: string) {
  const query = new URLSearchParams({ email, returnTo })
  await page.goto(`${server.url}/auth/sso?${query}`)
  await atIdp(page)
}

before(async () => {
  server = await startDevServer([
    '--var',
    `ACCESS:${JSON.stringify({
      routes: [
        { name: 'vault', path: '/vault/*', allow: [{ mfa: true }] },
        {
          name: 'acme-only',
          path: '/acme/*',
          allow: [{ organizations: [ACME], groups: ['eng'] }],
        },
        { name: 'app', path: '/*' },
      ],
    })}`,
  ])
  browser = await launchChromium()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

describe('SSO and a second factor in a real browser', () => {
  it('SSO from the sign-in page: deep link → email → IdP page → Allow → back on the deep link', async () => {
    const { context, page } = await newPage()
    const blocked: string[] = []
    page.on('console', (message) => {
      if (/Content Security Policy/.test(message.text())) blocked.push(message.text())
    })
    const email = uniqueAcmeEmail('grace')
    await page.goto(`${server.url}/acme/reports`)
    assert.match(page.url(), /\/auth\/login\?returnTo=%2Facme%2Freports$/)
    await page.getByLabel('Email address').fill(email)
    // An SSO domain's address goes to its IdP whichever button is pressed: no code is sent.
    await page.getByRole('button', { name: 'Email me a sign-in code' }).click()
    await atIdp(page).catch((error: unknown) => {
      throw new Error(
        `the sign-in form did not reach the IdP (still on ${page.url()})` +
          (blocked.length > 0 ? `; the browser blocked it: ${blocked.join(' | ')}` : ''),
        { cause: error },
      )
    })
    await fillIdpPage(page, email)
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${server.url}/acme/reports`)
    assert.equal(await page.locator('#email').textContent(), email)
    await context.close()
  })

  it('SSO then the vault: groups let the person in, and the vault enrols a TOTP app', async () => {
    const { context, page } = await newPage()
    const email = uniqueAcmeEmail('ada')
    await startSsoByLink(page, email, '/acme/reports')
    await fillIdpPage(page, email)
    await shot(page, 'sso-idp')
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${server.url}/acme/reports`)
    assert.equal(await page.locator('#email').textContent(), email)

    const me = (await (await context.request.get(`${server.url}/auth/me`)).json()) as {
      session: Record<string, unknown>
    }
    assert.deepEqual(
      {
        authMethod: me.session.authMethod,
        organizationId: me.session.organizationId,
        roles: me.session.roles,
        groups: me.session.groups,
        mfa: me.session.mfa,
      },
      {
        authMethod: 'sso',
        organizationId: ACME,
        roles: ['admin'],
        groups: ['eng', 'ops'],
        mfa: false,
      },
    )

    await page.goto(`${server.url}/vault/x`)
    await page.waitForURL(`${server.url}/auth/mfa?returnTo=%2Fvault%2Fx`)
    const qr = page.getByRole('img', { name: 'QR code for your authenticator app' })
    assert.match((await qr.getAttribute('src')) ?? '', /^data:image\/png;base64,/)
    // The browser decoded it: a picture, not a broken image (the CSP allows data: images).
    assert.ok(
      await qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0),
    )
    await shot(page, 'mfa-enrol')
    const secret = (await page.locator('#secret').textContent()) ?? ''
    assert.match(secret, /^[A-Z2-7]+$/)
    await page.getByLabel('Code from the app').fill(await totpCode(secret))
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.waitForURL(`${server.url}/vault/x`)
    assert.equal(await page.locator('#email').textContent(), email)
    const passed = (await (await context.request.get(`${server.url}/auth/me`)).json()) as {
      session: { mfa: boolean }
    }
    assert.equal(passed.session.mfa, true)
    await context.close()
  })

  it('SSO without the group the route asks for: the 403 page, naming the account', async () => {
    const { context, page } = await newPage()
    const email = uniqueAcmeEmail('ops')
    await startSsoByLink(page, email, '/acme/reports')
    await fillIdpPage(page, email, 'ops')
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${server.url}/acme/reports`)
    assert.equal(await page.locator('h1').textContent(), 'You do not have access')
    assert.match((await page.textContent('main')) ?? '', new RegExp(escape(email)))
    await context.close()
  })

  it('SSO: Deny at the IdP lands on the sign-in page with the SSO failure notice', async () => {
    const { context, page } = await newPage()
    await startSsoByLink(page, uniqueAcmeEmail('denied'), '/acme/reports')
    await page.getByRole('button', { name: 'Deny' }).click()
    await page.waitForURL(/\/auth\/login\?/)
    const url = new URL(page.url())
    assert.equal(url.searchParams.get('error'), 'sso_failed')
    assert.equal(url.searchParams.get('returnTo'), '/acme/reports')
    assert.match(
      (await page.locator('[role=alert]').textContent()) ?? '',
      /Single sign-on did not complete/,
    )
    // Nobody is signed in.
    assert.equal((await context.request.get(`${server.url}/auth/me`)).status(), 401)
    await shot(page, 'sso-denied')
    await context.close()
  })
})
