import type { AppContext } from '../app-env'
import { parseIp } from '../access/ip.ts'
import { clientIp } from '../context'

/**
 * The key per-client limits count under: the whole IPv4 address, or the /64 an IPv6 address
 * belongs to. One IPv6 subscriber usually holds a whole /64 (often more) and can rotate through
 * it freely, so counting full IPv6 addresses would give an attacker unlimited buckets. An IPv4
 * client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 client.
 */
export function clientKey(c: AppContext): string {
  const ip = clientIp(c)
  const parsed = parseIp(ip)
  if (!parsed) return `ip:${ip}`
  const [a = 0, b = 0] = parsed.words
  if (parsed.v4) return `ip:${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`
  return `ip6:${(a >>> 0).toString(16)}:${(b >>> 0).toString(16)}::/64`
}
