// Outbound addresses push may reach: forbidden IPv4/IPv6 ranges and the join-time check of an agentEndpoint.
import { BlockList, isIP } from 'node:net'

function blockList(type: 'ipv4' | 'ipv6', ranges: readonly (readonly [string, number])[]): BlockList {
  const list = new BlockList()
  for (const [net, bits] of ranges) list.addSubnet(net, bits, type)
  return list
}

/** IPv4 ranges an outbound call must never reach: loopback, private, link-local, CGNAT, metadata, reserved. */
const blockedV4 = blockList('ipv4', [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
])

/**
 * IPv6 ranges refused whole. Tunnels and translations whose far end cannot be checked from here are refused
 * outright: IPv4-compatible (::/96), SIIT (::ffff:0:0:0/96), local-use NAT64 (its embedding varies), the IETF
 * special-purpose block with Teredo (2001::/23), 6to4 (2002::/16). Mapped and well-known NAT64 addresses are
 * checked by the IPv4 address they carry instead (see isForbiddenAddress).
 */
const blockedV6 = blockList('ipv6', [
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['3fff::', 20],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
])

/** The eight 16-bit groups of a valid IPv6 address (any case, zero-padded or not, `::`, trailing dotted IPv4). */
function groups(ip: string): number[] {
  let text = ip
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number)
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::')
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : [])
  const left = parse(head)
  const right = parse(tail)
  const zeros = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0)
  return [...left, ...zeros, ...right]
}

const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
const isZero = (gs: number[]) => gs.every((g) => g === 0)

export function isForbiddenAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const kind = isIP(bare)
  if (kind === 4) return blockedV4.check(bare, 'ipv4')
  if (kind !== 6) return true
  const g = groups(bare)
  // IPv4-mapped ::ffff:a.b.c.d and well-known NAT64 64:ff9b::a.b.c.d reach the IPv4 address they carry.
  const mapped = isZero(g.slice(0, 5)) && g[5] === 0xffff
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && isZero(g.slice(2, 6))
  if (mapped || nat64) return blockedV4.check(v4(g[6], g[7]), 'ipv4')
  return blockedV6.check(g.map((n) => n.toString(16)).join(':'), 'ipv6')
}

/**
 * Join-time check of an agentEndpoint: http(s), no credentials, and a literal address must be public.
 * Names are resolved, and checked again, at connect time.
 */
export function endpointProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'must be an absolute http(s) URL'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must use http or https'
  if (url.username || url.password) return 'must not contain credentials'
  if (allowPrivate) return null
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) && isForbiddenAddress(host)) return 'must not point to a private, loopback or link-local address'
  if (/^localhost$|\.localhost$/i.test(host)) return 'must not point to a private, loopback or link-local address'
  return null
}
