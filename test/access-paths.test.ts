import { describe, expect, it } from 'vitest'
import { compileAccess } from '../src/access/compile.ts'
import type { CompiledAccess } from '../src/access/types.ts'
import { matchRoute } from '../src/access/decide.ts'
import { checkPath, isGatewayPath, normaliseHost } from '../src/access/paths.ts'

// A route is matched on the exact pathname the origin receives, so a path an origin could read
// differently from the gateway is refused (400 bad_path) before any route sees it.

function compile(document: unknown): CompiledAccess {
  const result = compileAccess(document)
  if (!result.ok) throw new Error(result.problems.join('\n'))
  return result.access
}

const routed = (access: CompiledAccess, host: string, path: string, method = 'GET') =>
  matchRoute(access, { host, path, method })?.name

describe('checkPath', () => {
  it.each([
    '/',
    '/a',
    '/a/',
    '/a/b.c',
    '/.well-known/jwks.json',
    '/a/.hidden',
    '/a/..b',
    '/caf%C3%A9',
    '/a%20b',
    '/a%3Fb',
    '/a%23b',
    '/a%3bb', // an encoded ";" is data, not a path parameter
    "/a:b@c!$&'()*+,=",
    '/~user',
    '/a~b1',
    '/v1.2/x',
    '/v1/things:batchGet',
    '/price/$5',
    '/caf%C3%A9/%C4%9F',
  ])('accepts %j', (path) => {
    expect(checkPath(path).ok).toBe(true)
  })

  it.each([
    // encoded "/", "\" and "." in either case
    '/a%2fb',
    '/a%2Fb',
    '/a%5cb',
    '/a%5Cb',
    '/a/%2e%2e/b',
    '/a/%2E%2E/b',
    '/a/%2e/b',
    '/file%2ejson',
    // double encoding
    '/pub/%252e%252e/admin',
    '/pub/..%252fadmin',
    '/a%25',
    // IIS %u escapes and malformed escapes
    '/a%u002e',
    '/a%U002E',
    '/a%',
    '/a%2',
    '/a%zz',
    // escapes of unreserved characters: /%61dmin is /admin to most origins
    '/%61dmin',
    '/%41',
    '/a%2D',
    '/a%5f',
    '/a%7e',
    '/a%30',
    // path parameters, backslashes, control characters raw and escaped
    '/a;x=1',
    '/admin;/x',
    '/a\\b',
    '/a\u0000b',
    '/a\tb',
    '/a\u007fb',
    '/a%00',
    '/a%0a',
    '/a%0D',
    '/a%1f',
    '/a%7F',
    // empty and dot segments
    '//a',
    '/a//b',
    '/./a',
    '/a/./b',
    '/a/../b',
    '/a/.',
    '/a/..',
    '/.',
    '/..',
    // a segment Windows and IIS read as another: a trailing "." or space, an 8.3 short name
    '/admin./x',
    '/admin../x',
    '/a/b..',
    '/a/...',
    '/report.',
    '/admin%20/x',
    '/report%20',
    '/ADMINI~1/x',
    '/a/~1',
    // NTFS streams: /admin::$INDEX_ALLOCATION/x is /admin/x to IIS
    '/admin::$INDEX_ALLOCATION/x',
    '/admin:$i30:$INDEX_ALLOCATION/x',
    '/admin%3A%3A%24INDEX_ALLOCATION/x',
    '/report::$DATA',
    '/report:%24DATA',
    // letters that full Unicode case folding turns into ASCII ones
    '/adm%C4%B1n/x',
    '/adm%c4%b0n/x',
    '/cla%C5%BF%C5%BF',
    '/%E2%84%AAey',
    // not a pathname at all
    '',
    'a/b',
    '*',
  ])('refuses %j', (path) => {
    expect(checkPath(path).ok).toBe(false)
  })
})

describe('normaliseHost', () => {
  it.each([
    ['admin.example.com', 'admin.example.com'],
    ['ADMIN.Example.COM', 'admin.example.com'],
    ['admin.example.com.', 'admin.example.com'],
    ['admin.example.com:8443', 'admin.example.com'],
    ['Admin.Example.com.:443', 'admin.example.com'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
    ['127.0.0.1:3000', '127.0.0.1'],
    ['example.com..', 'example.com.'], // one dot only: two never match a route
  ])('%j → %j', (host, expected) => {
    expect(normaliseHost(host)).toBe(expected)
  })
})

describe('gateway paths', () => {
  it('are the gateway’s own prefixes and nothing that merely starts like them', () => {
    for (const path of ['/auth', '/auth/login', '/.well-known/jwks.json', '/healthz', '/__dev/x'])
      expect(isGatewayPath(path)).toBe(true)
    for (const path of ['/authors', '/healthz/x', '/healthzz', '/__devices', '/'])
      expect(isGatewayPath(path)).toBe(false)
  })
})

describe('matching hosts and paths', () => {
  const access = compile({
    routes: [
      { name: 'admin', host: 'Admin.Example.com', path: '/*' },
      { name: 'tenants', host: '*.apps.example.com' },
      { name: 'status', path: '/status' },
      { name: 'api', path: '/api/*' },
      { name: 'root', path: '/' },
    ],
  })

  it('a host matches whatever the case, a trailing dot or a port', () => {
    for (const host of [
      'admin.example.com',
      'ADMIN.EXAMPLE.COM',
      'admin.example.com.',
      'admin.example.com:8443',
    ])
      expect(routed(access, host, '/status')).toBe('admin')
  })

  it('a host that merely ends like the route’s host does not match', () => {
    expect(routed(access, 'evil-admin.example.com', '/status')).toBe('status')
    expect(routed(access, 'admin.example.com.evil.test', '/status')).toBe('status')
  })

  it('*.example.com matches any subdomain, deeper ones too, but never the apex', () => {
    expect(routed(access, 'a.apps.example.com', '/x')).toBe('tenants')
    expect(routed(access, 'a.b.apps.example.com', '/x')).toBe('tenants')
    expect(routed(access, 'apps.example.com', '/x')).toBeUndefined()
    expect(routed(access, 'xapps.example.com', '/x')).toBeUndefined()
  })

  it('/x matches /x and /x/ (which a non-strict router serves as /x), not /x/y or /xy', () => {
    expect(routed(access, 'h.test', '/status')).toBe('status')
    expect(routed(access, 'h.test', '/status/')).toBe('status')
    expect(routed(access, 'h.test', '/status/x')).toBeUndefined()
    expect(routed(access, 'h.test', '/statusx')).toBeUndefined()
    const slashed = compile({ routes: [{ name: 'slashed', path: '/status/' }] })
    expect(routed(slashed, 'h.test', '/status')).toBe('slashed')
    expect(routed(slashed, 'h.test', '/status/')).toBe('slashed')
    expect(routed(slashed, 'h.test', '/status/x')).toBeUndefined()
  })

  it('/x/* matches /x and everything beneath, but not /xy', () => {
    expect(routed(access, 'h.test', '/api')).toBe('api')
    expect(routed(access, 'h.test', '/api/')).toBe('api')
    expect(routed(access, 'h.test', '/api/a/b')).toBe('api')
    expect(routed(access, 'h.test', '/apix')).toBeUndefined()
  })

  it('paths match whatever the case of their letters, as Express, ASP.NET and IIS serve them', () => {
    for (const path of ['/API/x', '/Api', '/STATUS', '/Status/'])
      expect(routed(access, 'h.test', path)).toBe(
        path.toLowerCase().startsWith('/api') ? 'api' : 'status',
      )
    const mixed = compile({ routes: [{ name: 'mixed', path: '/Reports/Q1/*' }] })
    expect(routed(mixed, 'h.test', '/reports/q1/x')).toBe('mixed')
    expect(routed(mixed, 'h.test', '/REPORTS/Q1')).toBe('mixed')
    expect(routed(access, 'h.test', '/')).toBe('root')
  })

  it('only ASCII letters fold: a percent-escape is one byte whatever the case of its hex digits', () => {
    const escaped = compile({ routes: [{ name: 'cafe', path: '/caf%C3%A9/*' }] })
    expect(routed(escaped, 'h.test', '/CAF%c3%a9/menu')).toBe('cafe')
    // The Kelvin sign lowercases to "k" in Unicode; it is not the letter K to a router.
    expect(
      routed(compile({ routes: [{ name: 'k', path: '/k' }] }), 'h.test', '/\u212a'),
    ).toBeUndefined()
  })

  it('caseSensitive: true matches only the spelling written, escapes still in any hex case', () => {
    const exact = compile({
      routes: [
        { name: 'labels', path: '/Labels/*', caseSensitive: true },
        { name: 'cafe', path: '/Caf%C3%A9', caseSensitive: true },
      ],
    })
    expect(routed(exact, 'h.test', '/Labels/x')).toBe('labels')
    expect(routed(exact, 'h.test', '/labels/x')).toBeUndefined()
    expect(routed(exact, 'h.test', '/LABELS')).toBeUndefined()
    expect(routed(exact, 'h.test', '/Caf%c3%a9/')).toBe('cafe')
    expect(routed(exact, 'h.test', '/caf%C3%A9')).toBeUndefined()
  })
})
