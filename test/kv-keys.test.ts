import { describe, expect, it } from 'vitest'
import storageDoc from '../STORAGE.md?raw'
import { sha256 } from '../src/crypto'
import * as keys from '../src/kv/keys'

// The KV layout is deployed data: every key keeps the exact string STORAGE.md documents, and is
// built in src/kv/keys.ts alone.

const h = 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg'

describe('KV keys', () => {
  it('are the strings STORAGE.md documents', async () => {
    const built: [string, string][] = [
      [keys.sessionKey(h), `session:${h}`],
      [keys.endedKey(h), `ended:${h}`],
      [keys.revokedKey(h), `revoked:${h}`],
      [keys.personIndexKey(h, 'x'), `person:${h}:x`],
      [keys.connectionIndexKey('conn_01H', 'x'), 'connection:conn_01H:x'],
      [keys.connectionEndedKey('conn_01H'), 'connection-ended:conn_01H'],
      [keys.CONNECTIONS_ENDED_KEY, 'connections-ended'],
      [keys.userKey('user_01H'), 'user:user_01H'],
      [await keys.guessesKey('Ann@Example.com'), `guesses:${await sha256('ann@example.com')}`],
      [
        await keys.guessesKey('mfa:ann@example.com'),
        `guesses:${await sha256('mfa:ann@example.com')}`,
      ],
      [await keys.webhookReplayKey('event_01H'), `webhook:${await sha256('event_01H')}`],
      [
        await keys.eventAppliedKey('user\nuser_01H'),
        `event-applied:${await sha256('user\nuser_01H')}`,
      ],
      [await keys.magicLinkKey('token'), `magic:${await sha256('token')}`],
      [keys.serviceTokenKey('svc_1'), 'service-token:svc_1'],
      [keys.serviceTokenUsedKey('svc_1'), 'service-token-used:svc_1'],
      [keys.ssoDomainKey('acme.com'), 'sso-domain:acme.com'],
      [keys.ssoOrganizationDomainsKey('org_1'), 'sso-org-domains:org_1'],
      [keys.mfaFactorKey(h), `mfa-factor:${h}`],
      [await keys.mfaUsedCodeKey(h, '123456'), `mfa-used:${await sha256(`${h}:123456`)}`],
      [await keys.handoffCodeKey('code'), `handoff:${await sha256('code')}`],
      [await keys.oauthTokenKey('gwat_x'), `oauth-token:${await sha256('gwat_x')}`],
      [keys.oauthClientKey('gwc_1'), 'oauth-client:gwc_1'],
      [await keys.oauthCodeKey('code'), `oauth-code:${await sha256('code')}`],
      [keys.oauthDeviceKey(h), `oauth-device:${h}`],
      [keys.oauthDevicePollKey(h), `oauth-device-poll:${h}`],
      [await keys.oauthUserCodeKey('BCDFGHJK'), `oauth-user-code:${await sha256('BCDFGHJK')}`],
      [
        await keys.guessesKey('device:ann@example.com'),
        `guesses:${await sha256('device:ann@example.com')}`,
      ],
      [keys.auditSeenKey('wiki', 'sid_1'), 'audit-seen:wiki:sid_1'],
    ]
    for (const [key, expected] of built) {
      expect(key).toBe(expected)
      const prefix = /^[a-z-]+(:|$)/.exec(key)![0]
      expect(storageDoc, prefix).toContain(`\`${prefix}`)
    }
  })

  it('refuse a segment that could end a listed prefix early', () => {
    // `person:a:` would list `person:a:b:…`, another person's sessions.
    expect(() => keys.personIndexPrefix('a:b')).toThrow()
    expect(() => keys.personIndexKey('a:b', h)).toThrow()
    expect(() => keys.connectionIndexPrefix('conn_1:x')).toThrow()
    expect(() => keys.connectionIndexKey('', h)).toThrow()
    expect(keys.isListable('conn_01HV99BT1PKX9G6VXYAME0629X')).toBe(true)
    expect(keys.isListable(h)).toBe(true)
    expect(keys.isListable('conn:1')).toBe(false)
  })

  it('are built nowhere else in src/', () => {
    const sources = import.meta.glob(['../src/**/*.ts', '../src/**/*.tsx'], {
      query: '?raw',
      import: 'default',
      eager: true,
    }) as Record<string, string>
    expect(Object.keys(sources).length).toBeGreaterThan(50)
    const prefix =
      /['"`](session|ended|revoked|person|connection|connection-ended|user|guesses|webhook|event-applied|magic|service-token|service-token-used|sso-domain|sso-org-domains|mfa-factor|mfa-used|handoff|oauth-token|oauth-client|oauth-code|oauth-device|oauth-device-poll|oauth-user-code):|['"`]connections-ended/
    const found = Object.entries(sources)
      .filter(([path]) => !path.endsWith('/src/kv/keys.ts'))
      .flatMap(([path, text]) =>
        text
          .split('\n')
          .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line) && prefix.test(line))
          .map((line) => `${path}: ${line.trim()}`),
      )
    expect(found).toEqual([])
  })
})
