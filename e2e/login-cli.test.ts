// The RFC 8628 client (oauth4webapi, in scripts/login.ts) completes the device grant against
// `npm run dev`: the real CLI discovers the gateway from a route's URL, registers, prints a code;
// a person signed in with a code from the dev mailbox types it and approves over HTTP, as their
// browser would; the CLI prints a token that opens that route, and only that route.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startDevServer, type DevServer } from './dev-server.ts'
import { answerDeviceCode, runLoginCli, signedIn } from './person.ts'

const ACCESS = {
  routes: [
    { name: 'api', path: '/api/*' },
    { name: 'app', path: '/*' },
  ],
}

let server: DevServer

before(async () => {
  server = await startDevServer(['--var', `ACCESS:${JSON.stringify(ACCESS)}`])
})

after(async () => {
  await server?.stop()
})

const bearer = (path: string, token: string) =>
  fetch(`${server.url}${path}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  })

describe('npm run login (RFC 8628 client: oauth4webapi)', () => {
  it('completes the device grant against npm run dev; the printed token opens its route and no other', async () => {
    const email = `cli-${Date.now().toString(36)}@example.com`
    const run = runLoginCli(`${server.url}/api/whoami`)
    const [, userCode] = await run.waitFor(/enter the code ([A-Z]{4}-[A-Z]{4})/)
    const [, completeUri] = await run.waitFor(/or open (\S+) and confirm/)
    assert.equal(completeUri, `${server.url}/auth/device?user_code=${userCode}`)
    const consent = await answerDeviceCode(
      await signedIn(server.url, email),
      completeUri!,
      userCode!,
      'approve',
    )
    assert.match(consent, /workos-edge-gateway CLI/)
    const { code, stdout, stderr } = await run.done
    assert.equal(code, 0, stderr)
    const token = stdout.trim()
    assert.match(token, /^gwat_[A-Za-z0-9_.-]+$/)
    assert.doesNotMatch(stderr, /gwat_|gwrt_/, 'the token goes to stdout only')
    const onRoute = await bearer('/api/whoami', token)
    assert.equal(onRoute.status, 200)
    const seen = (await onRoute.json()) as { headers: Record<string, string> }
    assert.equal(seen.headers['x-auth-email'], email)
    assert.equal(seen.headers.authorization, undefined)
    const elsewhere = await bearer('/reports', token)
    assert.equal(elsewhere.status, 401)
    await elsewhere.body?.cancel()
  })

  it('exits 1 when the person denies, printing no token', async () => {
    const run = runLoginCli(`${server.url}/api`)
    const [, userCode] = await run.waitFor(/enter the code ([A-Z]{4}-[A-Z]{4})/)
    const [, completeUri] = await run.waitFor(/or open (\S+) and confirm/)
    await answerDeviceCode(
      await signedIn(server.url, `cli-deny-${Date.now().toString(36)}@example.com`),
      completeUri!,
      userCode!,
      'deny',
    )
    const { code, stdout, stderr } = await run.done
    assert.equal(code, 1, stderr)
    assert.equal(stdout, '')
    assert.match(stderr, /Denied/)
  })

  it('exits 2 for a URL that leads to no gateway, or no URL', async () => {
    const none = await runLoginCli().done
    assert.equal(none.code, 2)
    assert.match(none.stderr, /Usage: npm run login/)
    // The WorkOS emulator: an http server on this machine that is no gateway.
    const notProtected = await runLoginCli(`${server.emulatorUrl}/api`).done
    assert.equal(notProtected.code, 2, notProtected.stderr)
    assert.match(notProtected.stderr, /not an application behind the gateway/)
  })
})
