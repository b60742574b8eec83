import assert from 'node:assert/strict'
import { it } from 'node:test'
import { redact } from '../scripts/redact.ts'

it('npm run dev prints request lines without codes, states or link tokens', () => {
  assert.equal(
    redact('[wrangler:info] GET /auth/callback?code=abc123&state=xyz 302 Found (5ms)'),
    '[wrangler:info] GET /auth/callback?… 302 Found (5ms)',
  )
  assert.equal(
    redact('[wrangler:info] POST /auth/magic/Zm9vYmFyYmF6 303 See Other (9ms)'),
    '[wrangler:info] POST /auth/magic/… 303 See Other (9ms)',
  )
  assert.equal(
    redact('[wrangler:info] GET /healthz 200 OK (1ms)'),
    '[wrangler:info] GET /healthz 200 OK (1ms)',
  )
  assert.equal(redact('{"outcome":"ok"}'), '{"outcome":"ok"}')
})
