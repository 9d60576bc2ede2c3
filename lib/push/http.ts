// The one outbound HTTP call A2A push makes: a JSON POST that only ever connects to a public address.
import { lookup as dnsLookup } from 'node:dns/promises'
import http from 'node:http'
import https from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import { isForbiddenAddress } from '../net/address.ts'

export interface SafePostOptions {
  /** Lifts the address check (ALLOW_PRIVATE_ENDPOINTS, development and tests). */
  allowPrivate: boolean
  connectTimeoutMs: number
  timeoutMs: number
  maxResponseBytes: number
  headers?: Record<string, string>
  signal?: AbortSignal
  /** Name resolution (tests inject one); default: the system resolver. */
  resolve?: (host: string) => Promise<{ address: string; family: number }[]>
}

export class RefusedAddressError extends Error {
  readonly code = 'ERR_PUSH_ADDRESS_REFUSED'
}

const systemResolve = (host: string) => dnsLookup(host, { all: true, verbatim: true })

/**
 * POSTs JSON to an agent endpoint and returns the status. SSRF-safe: http(s) only, the address actually
 * connected to is the one checked (resolved here, so DNS rebinding cannot swap it), redirects are not
 * followed (a 3xx is just a non-2xx), connect and total timeouts, and at most `maxResponseBytes` are read.
 */
export function safePost(target: string, body: string, opts: SafePostOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    let url: URL
    try {
      url = new URL(target)
    } catch {
      return reject(new Error('endpoint is not a valid URL'))
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return reject(new Error('endpoint must use http or https'))
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if (!opts.allowPrivate && isIP(host) && isForbiddenAddress(host)) {
      return reject(new RefusedAddressError(`endpoint address ${host} is not public`))
    }

    const lookup: LookupFunction = (hostname, options, cb) => {
      ;(opts.resolve ?? systemResolve)(hostname).then(
        (all) => {
          const ok = opts.allowPrivate ? all : all.filter((a) => !isForbiddenAddress(a.address))
          const wanted = options.family ? ok.filter((a) => a.family === options.family) : ok
          if (wanted.length === 0) {
            const err = all.length ? new RefusedAddressError(`${hostname} resolves to a non-public address`) : new Error(`${hostname} did not resolve`)
            return cb(err as NodeJS.ErrnoException, '', 0)
          }
          if (options.all) (cb as unknown as (e: null, a: typeof wanted) => void)(null, wanted)
          else cb(null, wanted[0].address, wanted[0].family)
        },
        (err) => cb(err, '', 0),
      )
    }

    const client = url.protocol === 'https:' ? https : http
    const req = client.request(url, {
      method: 'POST',
      agent: false,
      lookup,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'convene-push',
        ...opts.headers,
      },
      signal: opts.signal,
    })
    const total = setTimeout(() => req.destroy(new Error(`endpoint did not answer within ${opts.timeoutMs} ms`)), opts.timeoutMs)
    const finish = (err: Error | null, status = 0) => {
      clearTimeout(total)
      if (err) reject(err)
      else resolve(status)
    }
    req.once('socket', (socket) => {
      if (!socket.connecting) return
      const connect = setTimeout(() => req.destroy(new Error(`could not connect within ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs)
      socket.once('connect', () => clearTimeout(connect))
      socket.once('close', () => clearTimeout(connect))
    })
    req.once('error', (err) => finish(err))
    req.once('response', (res) => {
      let read = 0
      const status = res.statusCode ?? 0
      res.on('data', (chunk: Buffer) => {
        read += chunk.length
        // Enough: only the status matters; do not let an endpoint make us read without end.
        if (read > opts.maxResponseBytes) {
          res.destroy()
          finish(null, status)
        }
      })
      res.once('end', () => finish(null, status))
      res.once('error', (err) => finish(err))
      res.once('close', () => finish(null, status))
    })
    req.end(body)
  })
}
