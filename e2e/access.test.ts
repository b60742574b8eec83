// Access policies in a real browser: `npm run dev -- --var ACCESS:…` with a public route, an API
// route a page on another origin calls with credentials (CORS), an admin route the person may not
// use (the 403 page), and the demo origin's WebSocket echo opened from a page.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './browser.ts'
import { freePort, startDevServer, type DevServer } from './dev-server.ts'

const SCREENSHOTS = new URL('../docs/screenshots/', import.meta.url).pathname

let server: DevServer
let browser: Browser
let caller: Server
let callerOrigin: string

/** A page on another origin (another port on 127.0.0.1) that calls the gateway's API route. */
function callerPage(gateway: string) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Caller</title></head>
<body><h1>Another site</h1><p id="result">calling…</p><script>
fetch(${JSON.stringify(`${gateway}/api/whoami`)}, {
  method: 'POST', credentials: 'include',
  headers: { 'content-type': 'application/json' }, body: '{}'
}).then(async (r) => {
  const body = await r.json()
  document.getElementById('result').textContent = r.status + ' ' + (body.headers ? body.headers['x-auth-email'] : body.error)
}).catch((e) => { document.getElementById('result').textContent = 'failed ' + e })
</script></body></html>`
}

async function signInWithCode(page: Page, email: string) {
  await page.getByLabel('Email address').fill(email)
  await page.getByRole('button', { name: 'Email me a sign-in code' }).click()
  await page.waitForURL(/\/auth\/code$/)
  let code: string | null = null
  for (let i = 0; i < 50 && !code; i++) {
    const response = await fetch(`${server.url}/__dev/mailbox.json?to=${encodeURIComponent(email)}`)
    code =
      ((await response.json()) as { messages: { code: string | null }[] }).messages[0]?.code ?? null
    if (!code) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await page.getByLabel('Sign-in code').fill(code!)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

before(async () => {
  const port = await freePort()
  callerOrigin = `http://127.0.0.1:${port}`
  server = await startDevServer([
    '--var',
    `ACCESS:${JSON.stringify({
      routes: [
        { name: 'status', path: '/status', public: true },
        {
          name: 'api',
          path: '/api/*',
          allow: [{ domains: ['example.com'] }],
          cors: {
            origins: [callerOrigin],
            methods: ['GET', 'POST'],
            headers: ['content-type'],
            credentials: true,
          },
        },
        { name: 'admin', path: '/admin/*', allow: [{ emails: ['boss@example.com'] }] },
        { name: 'app', path: '/*' },
      ],
    })}`,
  ])
  caller = createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    response.end(callerPage(server.url))
  })
  await new Promise<void>((resolve) => caller.listen(port, '127.0.0.1', resolve))
  browser = await launchChromium()
})

after(async () => {
  await browser?.close()
  caller?.close()
  await server?.stop()
})

describe('access policies in a real browser', () => {
  it('403 page, a cross-origin page calling the API with credentials, and a WebSocket', async () => {
    const context = await browser.newContext({ viewport: { width: 420, height: 860 } })
    const page = await context.newPage()
    const email = `policy-${Date.now().toString(36)}@example.com`

    // A public route answers without signing in; the app route sends the person to sign in.
    const status = await page.goto(`${server.url}/status`)
    assert.equal(status?.status(), 200)
    await page.goto(`${server.url}/admin/users`)
    assert.match(page.url(), /\/auth\/login\?returnTo=%2Fadmin%2Fusers$/)
    await signInWithCode(page, email)

    // Signed in, but not someone the admin route allows: the 403 page names both.
    await page.waitForURL(/\/admin\/users$/)
    const text = (await page.textContent('main')) ?? ''
    assert.match(text, /You do not have access/)
    assert.ok(text.includes(email), text)
    assert.ok(text.includes('admin'), text)
    await page.screenshot({ path: `${SCREENSHOTS}access-denied.png`, fullPage: true })

    // The demo origin, through the app route, says which route served it.
    await page.goto(`${server.url}/reports`)
    assert.equal(await page.locator('#route').textContent(), 'app')

    // A page on another origin calls the API route with the person's cookie (CORS preflight,
    // then the request), and reads the answer.
    await page.goto(`${callerOrigin}/`)
    await page.waitForFunction(`document.getElementById('result').textContent !== 'calling…'`)
    assert.equal(await page.locator('#result').textContent(), `200 ${email}`)
    await page.screenshot({ path: `${SCREENSHOTS}cors-caller.png`, fullPage: true })

    // A WebSocket opened from a page on the gateway: the echo origin sees who it is.
    await page.goto(`${server.url}/reports`)
    const echoed = await page.evaluate(
      async (url) => {
        return await new Promise<string>((resolve, reject) => {
          const socket = new WebSocket(url)
          const seen: string[] = []
          socket.onmessage = (event) => {
            seen.push(String(event.data))
            if (seen.length === 1) socket.send('ping from the page')
            else {
              socket.close()
              resolve(seen.join('\n'))
            }
          }
          socket.onerror = () => reject(new Error('socket error'))
          setTimeout(() => reject(new Error('no echo')), 5000)
        })
      },
      `${server.url.replace('http', 'ws')}/__ws`,
    )
    assert.ok(echoed.includes(email), echoed)
    assert.ok(echoed.includes('ping from the page'), echoed)
    await context.close()
  })
})
