// Which address a client counts as (IPv6 by its /64), and what a TRUST_PROXY entry may be.
import { isIP } from 'node:net'

/** A TRUST_PROXY entry: an IP address, or a CIDR (address/prefix length). */
export function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))
}

/** The eight 16-bit groups of an IPv6 address (zone dropped, a trailing dotted IPv4 folded in); null if malformed. */
function groups(ip: string): number[] | null {
  let s = ip.split('%')[0]
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s)
  if (v4) {
    const b = v4.slice(1).map(Number)
    s = `${s.slice(0, v4.index)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`
  }
  const halves = s.split('::')
  if (halves.length > 2) return null
  const part = (h: string) => (h === '' ? [] : h.split(':').map((g) => parseInt(g, 16)))
  const head = part(halves[0])
  const tail = halves.length === 2 ? part(halves[1]) : []
  const fill = 8 - head.length - tail.length
  if (halves.length === 1 ? fill !== 0 : fill < 0) return null
  const out = [...head, ...Array<number>(fill).fill(0), ...tail]
  return out.some((g) => !(g >= 0 && g <= 0xffff)) ? null : out
}

/**
 * The address a client is counted as (rate limits, per-address caps): IPv4 as is, a v4-mapped IPv6 address as its
 * IPv4, any other IPv6 address by its /64, which one subscriber usually holds whole.
 */
export function clientAddress(ip: string): string {
  if (isIP(ip) !== 6) return ip
  const g = groups(ip)
  if (!g) return ip.toLowerCase()
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return [g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255].join('.')
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`
}
