/** The SDK's transports speak web Request/Response: a Fastify request handed over as one. */
import type { FastifyReply, FastifyRequest } from 'fastify'

/** Headers and an abort signal; the body goes to the SDK already parsed. */
export function webRequest(req: FastifyRequest, signal: AbortSignal): Request {
  const headers = new Headers()
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v)
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url}`, { method: req.method, headers, signal })
}

/** Aborts when the client goes away (a stream's end, a call's cancellation). */
export function signalOf(reply: FastifyReply): AbortSignal {
  const aborter = new AbortController()
  reply.raw.once('close', () => aborter.abort())
  return aborter.signal
}
