import { describe, expect, it } from 'vitest'
import { ipInRange, parseIp, parseIpRange, type IpRange } from '../src/access/ip.ts'

// The `ips` condition: addresses come from CF-Connecting-IP, ranges from the operator. A bad
// address never matches; a bad range is a configuration problem.

function range(text: string): IpRange {
  const check = parseIpRange(text)
  if (!check.ok) throw new Error(`${text}: ${check.problem}`)
  return check.range
}

const inRange = (ip: string, cidr: string) => {
  const address = parseIp(ip)
  if (!address) throw new Error(`unparseable ${ip}`)
  return ipInRange(address, range(cidr))
}

describe('parseIp', () => {
  it.each([
    ['0.0.0.0', [0]],
    ['255.255.255.255', [0xffffffff]],
    ['192.0.2.1', [0xc0000201]],
  ])('reads IPv4 %s', (text, words) => {
    expect(parseIp(text)).toEqual({ v4: true, words })
  })

  it.each([
    ['::', [0, 0, 0, 0]],
    ['::1', [0, 0, 0, 1]],
    ['1::', [0x00010000, 0, 0, 0]],
    ['2001:db8::1', [0x20010db8, 0, 0, 1]],
    ['2001:DB8:0:0:0:0:0:1', [0x20010db8, 0, 0, 1]],
    ['1:2:3:4:5:6:7::', [0x00010002, 0x00030004, 0x00050006, 0x00070000]],
    ['::2:3:4:5:6:7:8', [0x00000002, 0x00030004, 0x00050006, 0x00070008]],
    ['fe80::1:2', [0xfe800000, 0, 0, 0x00010002]],
    ['64:ff9b::192.0.2.1', [0x0064ff9b, 0, 0, 0xc0000201]],
  ])('reads IPv6 %s (:: compression, case, embedded IPv4)', (text, words) => {
    expect(parseIp(text)).toEqual({ v4: false, words })
  })

  it('reads an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(parseIp('::ffff:192.0.2.1')).toEqual({ v4: true, words: [0xc0000201] })
    expect(parseIp('::FFFF:c000:0201')).toEqual({ v4: true, words: [0xc0000201] })
    expect(parseIp('0:0:0:0:0:ffff:192.0.2.1')).toEqual({ v4: true, words: [0xc0000201] })
  })

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4', // octal to some parsers
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.',
    '1..2.3',
    '0x7f.0.0.1',
    '2130706433', // 127.0.0.1 as one number to inet_aton
    ':',
    ':::',
    ':1',
    '1:',
    '1::2::3',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::8',
    'fe80::1%eth0',
    '::ffff:1.2.3',
    '::1.2.3.4:5',
    '[::1]',
    'localhost',
  ])('refuses %j', (text) => {
    expect(parseIp(text)).toBeUndefined()
  })
})

describe('ranges', () => {
  it('match addresses within the prefix, on both sides of its edges', () => {
    expect(inRange('10.0.0.0', '10.0.0.0/8')).toBe(true)
    expect(inRange('10.255.255.255', '10.0.0.0/8')).toBe(true)
    expect(inRange('11.0.0.0', '10.0.0.0/8')).toBe(false)
    expect(inRange('9.255.255.255', '10.0.0.0/8')).toBe(false)
    expect(inRange('203.0.113.7', '203.0.113.7')).toBe(true)
    expect(inRange('203.0.113.8', '203.0.113.7')).toBe(false)
    expect(inRange('203.0.113.9', '203.0.113.8/31')).toBe(true)
    expect(inRange('203.0.113.10', '203.0.113.8/31')).toBe(false)
    expect(inRange('198.51.100.1', '0.0.0.0/0')).toBe(true)
  })

  it('match IPv6 across word boundaries and at /128', () => {
    expect(inRange('2001:db8:8000::1', '2001:db8:8000::/33')).toBe(true)
    expect(inRange('2001:db8:7fff::1', '2001:db8:8000::/33')).toBe(false)
    expect(inRange('2001:db8::1', '2001:db8::/32')).toBe(true)
    expect(inRange('2001:db9::1', '2001:db8::/32')).toBe(false)
    expect(inRange('2001:db8::1', '2001:db8::1/128')).toBe(true)
    expect(inRange('2001:db8::2', '2001:db8::1/128')).toBe(false)
    expect(inRange('2001:db8::ffff', '2001:db8::/112')).toBe(true)
    expect(inRange('2001:db8::1:0', '2001:db8::/112')).toBe(false)
  })

  it('keep the families apart: 0.0.0.0/0 is not IPv6, ::/0 is not IPv4', () => {
    expect(inRange('2001:db8::1', '0.0.0.0/0')).toBe(false)
    expect(inRange('192.0.2.1', '::/0')).toBe(false)
    expect(inRange('2001:db8::1', '::/0')).toBe(true)
  })

  it('an IPv4-mapped client address matches IPv4 ranges', () => {
    expect(inRange('::ffff:203.0.113.7', '203.0.113.0/24')).toBe(true)
    expect(inRange('::ffff:cb00:7107', '203.0.113.0/24')).toBe(true)
    expect(inRange('::ffff:203.0.114.7', '203.0.113.0/24')).toBe(false)
  })

  it('an IPv4-mapped range is the IPv4 range (::ffff:10.0.0.0/104 is 10.0.0.0/8)', () => {
    expect(range('::ffff:10.0.0.0/104')).toEqual(range('10.0.0.0/8'))
    expect(inRange('10.1.2.3', '::ffff:10.0.0.0/104')).toBe(true)
  })

  it.each([
    ['10.0.0.1/8', 'beyond its prefix'],
    ['2001:db8::1/32', 'beyond its prefix'],
    ['10.0.0.0/33', 'from 0 to 32'],
    ['2001:db8::/129', 'from 0 to 128'],
    ['10.0.0.0/08', 'from 0 to 32'],
    ['10.0.0.0/', 'from 0 to 32'],
    ['10.0.0.0/-1', 'from 0 to 32'],
    ['10.0.0.0/8/8', 'from 0 to 32'],
    ['::ffff:0:0/80', '96'],
    ['10.0.0/8', 'address or CIDR'],
    ['example.com', 'address or CIDR'],
  ])('refuses the range %j', (text, problem) => {
    const check = parseIpRange(text)
    expect(check.ok).toBe(false)
    if (!check.ok) expect(check.problem).toContain(problem)
  })
})
