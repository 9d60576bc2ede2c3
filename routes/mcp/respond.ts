/** Sends the SDK's web Response through Fastify; a short one (a tool call's SSE stream) goes out in one write. */
import type { FastifyReply } from 'fastify'

/**
 * How long a response is held back to go out whole. A 2025-11-25 call's SSE stream opens with a priming event,
 * then waits for the call: sent as it came, that is two socket writes (plus chunked framing) where one will do.
 * A call that is not done by then streams as before, the priming event first.
 */
export const HOLD_MS = 250

const LATE = Symbol('late')

/** Calls that may wait (for messages, for a listen stream's events): their streams are never held. */
const WAITS = new Set(['waitForMessages'])

type RpcMessage = { method?: unknown; params?: { name?: unknown } } | null

const waits = (m: RpcMessage): boolean =>
  m?.method === 'subscriptions/listen' || (m?.method === 'tools/call' && typeof m.params?.name === 'string' && WAITS.has(m.params.name))

/** How long to hold the response to this POST body: 0 when a call in it may wait. */
export function holdFor(body: unknown): number {
  if (Array.isArray(body)) return body.some((m) => waits(m as RpcMessage)) ? 0 : HOLD_MS
  return waits(body as RpcMessage) ? 0 : HOLD_MS
}

/**
 * Sends `response`. With `holdMs` > 0 its body is read first: if it ends within that time it is sent as one
 * buffer (Content-Length, no chunked framing); otherwise what was read and the rest are streamed. A client that
 * goes away meanwhile cancels the body, as Fastify does for a stream.
 */
export async function sendResponse(reply: FastifyReply, response: Response, holdMs: number): Promise<FastifyReply> {
  reply.code(response.status)
  response.headers.forEach((value, name) => void reply.header(name, value))
  const body = response.body
  if (body === null) return reply.send()
  if (holdMs <= 0) return reply.send(body)

  const reader = body.getReader()
  const cancel = () => void reader.cancel().catch(() => {})
  reply.raw.once('close', cancel)
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<typeof LATE>((resolve) => (timer = setTimeout(resolve, holdMs, LATE)))
  const chunks: Uint8Array[] = []
  let pending = reader.read()
  try {
    for (;;) {
      const next = await Promise.race([pending, late])
      if (next === LATE) break
      if (next.done) return reply.send(chunks.length === 1 ? Buffer.from(chunks[0].buffer, chunks[0].byteOffset, chunks[0].byteLength) : Buffer.concat(chunks))
      chunks.push(next.value)
      pending = reader.read()
    }
  } finally {
    clearTimeout(timer)
    reply.raw.off('close', cancel)
  }
  // Still running: stream what was read, then the rest (Fastify cancels the reader if the client goes away).
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c)
    },
    async pull(controller) {
      const next = await pending
      if (next.done) controller.close()
      else {
        controller.enqueue(next.value)
        pending = reader.read()
      }
    },
    cancel: (reason) => reader.cancel(reason),
  })
  return reply.send(rest)
}
