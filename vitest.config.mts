import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'
import { appendFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  TEST_AUDIT_ORGANIZATION_ID,
  TEST_WEBHOOK_SECRET,
  WORKER_LOG,
} from './test/setup/global-setup.ts'

export default defineConfig({
  // What ships: the slimmed SDK wrangler.toml aliases (scripts/slim-workos.ts), in tests too.
  resolve: {
    alias: [
      {
        find: /^@workos-inc\/node$/,
        replacement: fileURLToPath(new URL('./build/workos-sdk/index.worker.mjs', import.meta.url)),
      },
    ],
  },
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          DEV_MODE: 'true',
          WORKOS_API_URL: inject('emulatorUrl'),
          ORIGIN_URL: inject('originUrl'),
          SESSION_SECRET: 'test-session-secret-0123456789-abcdefghij',
          // Tests name the gateway https://gateway.test; the emulator allows its callback.
          PUBLIC_URL: 'https://gateway.test',
          // Tests edit KV directly; an isolate-level cache would hide that. Its own test sets it.
          SESSION_CACHE_SECONDS: '0',
          WORKOS_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
          // Every request's line, so the leak scan at the end of the run sees every one.
          LOG_REQUESTS: 'all',
          ADMIN_TOKEN: 'test-admin-token-0123456789-abcdefghijkl',
          FORWARD_AUTH_TOKEN: 'test-forward-auth-token-0123456789-abcdef',
          // A second, separate origin for ACCESS routes that name their own.
          TEST_SECOND_ORIGIN_URL: inject('secondOriginUrl'),
          AUDIT_ORGANIZATION_ID: TEST_AUDIT_ORGANIZATION_ID,
        },
        // Audit events reach the emulator a moment after the answer, not 5 s later.
        queueConsumers: {
          'gateway-audit': { maxBatchTimeout: 0.05, maxRetries: 2 },
        },
        // A second gateway instance's own KV (test/revocation-authority.test.ts): two instances
        // that share nothing but the revocation authority.
        kvNamespaces: ['SESSIONS_ELSEWHERE'],
        // A Worker bound as a service, for ACCESS routes with "service" (no network hop).
        serviceBindings: {
          DOCS_SERVICE: async (request: Request) =>
            Response.json({
              service: 'docs',
              path: new URL(request.url).pathname,
              user: request.headers.get('x-auth-user'),
              route: request.headers.get('x-auth-route'),
              assertion: request.headers.has('x-auth-assertion'),
            }),
        },
      },
    })),
  ],
  test: {
    globalSetup: ['./test/setup/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // Test files share one emulator, and its fault switch is global: run files one at a time.
    fileParallelism: false,
    // Every line the Worker logs is kept and scanned for secrets when the run ends.
    // (and kept out of the test output: one JSON line per request would drown it).
    onConsoleLog(log) {
      appendFileSync(WORKER_LOG, `${log.trimEnd()}\n`)
      return false
    },
  },
})
