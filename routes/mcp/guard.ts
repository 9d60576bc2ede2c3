/** DNS-rebinding guard for /mcp: refuses foreign Origins and rebound Host names with a JSON-RPC 403. */
import { isIP } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../lib/config.ts'
import { RPC, rpcError } from '../../lib/net/jsonrpc.ts'

const isLoopbackName = (h: string) => h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h)
const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '').toLowerCase()

function hostnameOf(hostHeader: string): string | null {
  try {
    return bare(new URL(`http://${hostHeader}`).hostname)
  } catch {
    return null
  }
}

const MAX_VERDICTS = 256

function forbidden(reply: FastifyReply, message: string) {
  return reply.status(403).send(rpcError(null, RPC.SERVER_ERROR, message))
}

/**
 * DNS-rebinding protection. A browser page may only reach /mcp from a loopback origin or BASE_URL; clients
 * that send no Origin (CLIs, SDKs) pass. The Host must be an IP literal, a loopback name, BASE_URL's host or
 * HOST: a rebound domain name is refused.
 */
export function originGuard(config: Config) {
  const base = config.baseUrl ? new URL(config.baseUrl) : null
  const hosts = new Set<string>()
  if (base) hosts.add(bare(base.hostname))
  hosts.add(bare(config.host))
  // The verdict on each Host header seen (parsing it as a URL on every request showed in profiles); bounded.
  const verdicts = new Map<string, boolean>()
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin
    if (origin !== undefined) {
      let ok = false
      try {
        const u = new URL(origin)
        ok = isLoopbackName(bare(u.hostname)) || (base !== null && u.origin === base.origin)
      } catch {
        ok = false
      }
      if (!ok) return forbidden(reply, 'Forbidden: Origin not allowed')
    }
    const header = req.headers.host ?? ''
    let allowed = verdicts.get(header)
    if (allowed === undefined) {
      const host = hostnameOf(header)
      allowed = host !== null && (isIP(host) !== 0 || isLoopbackName(host) || hosts.has(host))
      if (verdicts.size >= MAX_VERDICTS) verdicts.clear()
      verdicts.set(header, allowed)
    }
    if (!allowed) return forbidden(reply, 'Forbidden: Host not allowed')
  }
}
