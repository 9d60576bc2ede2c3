/** The website's static files (routes/web/static), served from memory with content-hash URLs. */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
}

const staticFile = {
  params: Type.Object({ file: Type.String() }),
  /** `v`: the content hash pages link; any other value (or a repeated one) just revalidates. */
  querystring: Type.Object({ v: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])) }),
}

interface Asset {
  body: Buffer
  type: string
  etag: string
  version: string
}

/**
 * Serves routes/web/static from memory under /static/<file>. Pages link `?v=<content hash>`:
 * those URLs are immutable for a year; others revalidate with the ETag.
 */
export function registerAssets(app: FastifyInstance): (file: string) => string {
  const dir = new URL('./static/', import.meta.url)
  const assets = new Map<string, Asset>()
  for (const name of readdirSync(dir)) {
    const ext = name.slice(name.lastIndexOf('.'))
    if (!TYPES[ext]) continue
    const body = readFileSync(new URL(name, dir))
    const version = createHash('sha256').update(body).digest('hex').slice(0, 12)
    assets.set(name, { body, type: TYPES[ext], etag: `"${version}"`, version })
  }

  app.withTypeProvider<TypeBoxTypeProvider>().get('/static/:file', { schema: staticFile }, async (req, reply) => {
    const a = assets.get(req.params.file)
    if (!a) return reply.status(404).type('text/plain; charset=utf-8').send('Not found\n')
    const immutable = req.query.v === a.version
    reply
      .header('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=300, must-revalidate')
      .header('ETag', a.etag)
      .type(a.type)
    if (req.headers['if-none-match'] === a.etag) return reply.status(304).send()
    return reply.send(a.body)
  })

  return (file) => {
    const a = assets.get(file)
    if (!a) throw new Error(`unknown asset ${file}`)
    return `/static/${file}?v=${a.version}`
  }
}
