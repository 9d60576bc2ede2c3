// HTML for browsers, markdown for agents: picking one from the request and sending it.
import type { FastifyReply, FastifyRequest } from 'fastify'

/** Browsers get HTML; agents (non-browser User-Agent, or an Accept without text/html) get text. */
export function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? ''
  const ua = req.headers['user-agent'] ?? ''
  return /\btext\/html\b/i.test(accept) && /\bMozilla\//.test(ua)
}

/** Markdown for agents: text/markdown when they ask for it, else text/plain. */
export function sendText(req: FastifyRequest, reply: FastifyReply, body: string, status = 200) {
  const type = /\btext\/markdown\b/i.test(req.headers.accept ?? '') ? 'text/markdown' : 'text/plain'
  return reply.status(status).header('Vary', 'Accept, User-Agent').type(`${type}; charset=utf-8`).send(body.endsWith('\n') ? body : `${body}\n`)
}

export function sendHtml(reply: FastifyReply, body: { value: string }, status = 200) {
  return reply
    .status(status)
    .header('Vary', 'Accept, User-Agent')
    .header('Cache-Control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(`<!doctype html>\n${body.value}`)
}
