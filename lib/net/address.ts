import { BlockList, isIP } from 'node:net'

/** Addresses an outbound call must never reach: loopback, private, link-local, CGNAT, metadata, and their IPv6 forms. */
const blocked = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  blocked.addSubnet(net, bits, 'ipv6')

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 address, if any. */
function embeddedIPv4(ip: string): string | null {
  const m = /^(?:0{0,4}:){0,5}(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip) ?? null
  if (m) return m[1]
  const hex = /^(?:0{0,4}:){0,5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip.replace(/^::/, '0:0:0:0:0:'))
  if (!hex) return null
  const a = parseInt(hex[1], 16)
  const b = parseInt(hex[2], 16)
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`
}

export function isForbiddenAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const kind = isIP(bare)
  if (kind === 4) return blocked.check(bare, 'ipv4')
  if (kind === 6) {
    const v4 = embeddedIPv4(bare.toLowerCase())
    if (v4) return blocked.check(v4, 'ipv4')
    return blocked.check(bare, 'ipv6')
  }
  return true
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
