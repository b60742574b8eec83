// Client addresses and the ranges an `ips` condition lists. Parsed strictly: an address a policy
// cannot read never matches (so it never opens an `allow`), and a range with a typo is a
// configuration problem rather than a rule that silently matches something else.

/**
 * IPv4 is one 32-bit word, IPv6 four. An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a
 * dual-stack socket reports for an IPv4 client) is the IPv4 address, so IPv4 ranges match it.
 */
export interface IpAddress {
  readonly v4: boolean
  readonly words: readonly number[]
}

/** `words` are already masked, so a match is one AND and compare per word. */
export interface IpRange {
  readonly v4: boolean
  readonly words: readonly number[]
  readonly masks: readonly number[]
  readonly prefix: number
}

export type IpRangeCheck = { ok: true; range: IpRange } | { ok: false; problem: string }

const DOT = 0x2e
const COLON = 0x3a

export function parseIp(text: string): IpAddress | undefined {
  if (text.indexOf(':') === -1) {
    const word = parseIpv4(text, 0, text.length)
    return word < 0 ? undefined : { v4: true, words: [word] }
  }
  const words = parseIpv6(text)
  if (!words) return undefined
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff)
    return { v4: true, words: [words[3]!] }
  return { v4: false, words }
}

/** An address (a /32 or /128) or `address/prefix`; host bits beyond the prefix are a problem. */
export function parseIpRange(text: string): IpRangeCheck {
  const slash = text.indexOf('/')
  const address = parseIp(slash === -1 ? text : text.slice(0, slash))
  if (!address) return { ok: false, problem: 'must be an IPv4 or IPv6 address or CIDR range' }
  const mapped = address.v4 && text.indexOf(':') !== -1
  const bits = address.v4 && !mapped ? 32 : 128
  let prefix = bits
  if (slash !== -1) {
    const digits = text.slice(slash + 1)
    if (!/^(0|[1-9][0-9]{0,2})$/.test(digits) || Number(digits) > bits)
      return { ok: false, problem: `must have a prefix length from 0 to ${bits}` }
    prefix = Number(digits)
  }
  if (mapped) {
    // ::ffff:a.b.c.d/n with n < 96 would also cover non-mapped IPv6 space: say so rather than
    // guess which the operator meant.
    if (prefix < 96) return { ok: false, problem: 'an IPv4-mapped range needs a prefix of 96+' }
    prefix -= 96
  }
  const masks = maskWords(address.v4 ? 1 : 4, prefix)
  const words = address.words.map((word, i) => (word & masks[i]!) >>> 0)
  if (words.some((word, i) => word !== address.words[i]))
    return {
      ok: false,
      problem: 'has bits set beyond its prefix length (write the network address)',
    }
  return { ok: true, range: { v4: address.v4, words, masks, prefix } }
}

export function ipInRange(ip: IpAddress, range: IpRange): boolean {
  if (ip.v4 !== range.v4) return false
  const { words, masks } = range
  for (let i = 0; i < words.length; i++) {
    if ((ip.words[i]! & masks[i]!) >>> 0 !== words[i]) return false
  }
  return true
}

function maskWords(count: number, prefix: number): number[] {
  const masks: number[] = []
  for (let i = 0; i < count; i++) {
    const bits = Math.max(0, Math.min(32, prefix - 32 * i))
    // `<< 32` is a no-op in JavaScript, hence the explicit zero.
    masks.push(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0)
  }
  return masks
}

/**
 * Dotted-quad between `start` and `end`, as an unsigned 32-bit number, or -1. Leading zeros are
 * refused: some parsers read `010` as octal 8, so such an address means different things to
 * different readers.
 */
function parseIpv4(text: string, start: number, end: number): number {
  let value = 0
  let parts = 0
  let i = start
  while (parts < 4) {
    const partStart = i
    let part = 0
    while (i < end) {
      const c = text.charCodeAt(i)
      if (c < 0x30 || c > 0x39) break
      part = part * 10 + (c - 0x30)
      i++
    }
    const length = i - partStart
    if (length === 0 || length > 3 || part > 255) return -1
    if (length > 1 && text.charCodeAt(partStart) === 0x30) return -1
    value = value * 256 + part
    parts++
    if (parts < 4) {
      if (i >= end || text.charCodeAt(i) !== DOT) return -1
      i++
    }
  }
  return i === end ? value : -1
}

/** Eight 16-bit groups with at most one `::` and an optional dotted-quad tail; no zone id. */
function parseIpv6(text: string): number[] | undefined {
  const groups: number[] = []
  let compressAt = -1
  let i = 0
  const end = text.length
  if (end < 2 || end > 45) return undefined
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return undefined
    compressAt = 0
    i = 2
  }
  while (i < end) {
    if (groups.length >= 8) return undefined
    const groupStart = i
    let group = 0
    while (i < end) {
      const digit = hexValue(text.charCodeAt(i))
      if (digit < 0) break
      group = group * 16 + digit
      i++
    }
    if (i < end && text.charCodeAt(i) === DOT) {
      // An embedded IPv4 address takes the last two groups.
      if (groups.length > 6) return undefined
      const v4 = parseIpv4(text, groupStart, end)
      if (v4 < 0) return undefined
      groups.push(v4 >>> 16, v4 & 0xffff)
      i = end
      break
    }
    const length = i - groupStart
    if (length === 0 || length > 4) return undefined
    groups.push(group)
    if (i === end) break
    if (text.charCodeAt(i) !== COLON) return undefined
    i++
    if (i < end && text.charCodeAt(i) === COLON) {
      if (compressAt !== -1) return undefined
      compressAt = groups.length
      i++
    } else if (i === end) {
      return undefined // a single trailing colon
    }
  }
  if (compressAt === -1) {
    if (groups.length !== 8) return undefined
  } else {
    if (groups.length > 7) return undefined
    groups.splice(compressAt, 0, ...new Array<number>(8 - groups.length).fill(0))
  }
  const words: number[] = []
  for (let w = 0; w < 4; w++) words.push(((groups[2 * w]! << 16) | groups[2 * w + 1]!) >>> 0)
  return words
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}
