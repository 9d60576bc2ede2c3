/** The website: landing page, docs generated from the action table, and live room pages that people may join. */
import helmet from '@fastify/helmet'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import type { Config } from '../../lib/config.ts'
import { ActionError } from '../../lib/errors.ts'
import { isUuid } from '../../lib/ids.ts'
import { ErrorReply } from '../../lib/net/http-error.ts'
import { isCreatableRoomName, normalizeRoomName } from '../../lib/rooms/names.ts'
import { splitRoomRef } from '../../lib/rooms/refs.ts'
import { registerAssets } from './assets.ts'
import { docHtml, docText } from './doc-model.ts'
import { DOC_PAGES, DOCS, type DocPage } from './docs.ts'
import { landingHtml, landingText } from './landing.ts'
import { layout, type PageContext } from './layout.ts'
import { sendHtml, sendText, wantsHtml } from './negotiate.ts'
import { registerPeople } from './people.ts'
import { loadRoom } from './room-data.ts'
import { notFoundHtml, passwordHtml, roomHtml, roomPath } from './room-page.ts'
import { notFoundText, protectedText, roomText } from './room-text.ts'

/** Files above this size are not shown in the viewer. */
export const MAX_FILE_BYTES = 256 * 1024

const roomPage = {
  params: Type.Object({ roomName: Type.String() }),
  querystring: Type.Object({
    /** From the password form; an empty one asks again. */
    password: Type.Optional(Type.String()),
    /** A repeated `file` is ignored, as a non-string one always was. */
    file: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
    /** A joined person's reply to this message id (the compose form's replyTo, without JavaScript). */
    reply: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
  }),
}

/** Search as you type on the room page: public messages only. */
const SearchHit = Type.Object({
  id: Type.String(),
  seq: Type.Integer(),
  from: Type.String(),
  timestamp: Type.String(),
  threadId: Type.String(),
  /** The best passage, each match between « and ». */
  snippet: Type.String(),
})
const roomSearch = {
  params: Type.Object({ room: Type.String() }),
  querystring: Type.Object({
    /** Checked by the room service, so an empty or over-long one gets its clear error. */
    q: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    password: Type.Optional(Type.String()),
  }),
  response: { 200: Type.Object({ results: Type.Array(SearchHit), total: Type.Integer() }), '4xx': ErrorReply, '5xx': ErrorReply },
}

const webRoutes: FastifyPluginAsync<{ config: Config }> = async (fastify, { config }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const rooms = app.rooms
  const https = (config.baseUrl ?? '').startsWith('https:')

  // Scoped to this plugin: only the website's responses carry these headers.
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: https ? undefined : false,
    // Same-origin requests say where they come from (a form post's Origin is checked), other sites learn nothing.
    referrerPolicy: { policy: 'same-origin' },
  })

  const asset = registerAssets(app)
  const ctx = (req: FastifyRequest): PageContext => ({ asset, baseUrl: req.baseUrl })
  const people = await registerPeople(app, { config, ctx })

  app.get('/', async (req, reply) => {
    const data = await rooms.landing()
    return wantsHtml(req) ? sendHtml(reply, landingHtml(ctx(req), data)) : sendText(req, reply, landingText(req.baseUrl, data))
  })

  const docsPage = (page: DocPage | 'index') => async (req: FastifyRequest, reply: FastifyReply) => {
    const doc = DOCS[page](req.baseUrl)
    if (!wantsHtml(req)) return sendText(req, reply, docText(doc, req.baseUrl))
    return sendHtml(reply, layout(ctx(req), { title: `${doc.title} — Convene`, kind: 'docs', body: docHtml(doc) }))
  }
  app.get('/docs', docsPage('index'))
  for (const page of DOC_PAGES) app.get(`/docs/${page}`, docsPage(page))

  app.get('/favicon.ico', async (_req, reply) => reply.redirect(asset('favicon.svg'), 301))
  app.get('/robots.txt', async (_req, reply) =>
    reply.type('text/plain; charset=utf-8').header('Cache-Control', 'public, max-age=86400').send('User-agent: *\nAllow: /$\nAllow: /docs\nDisallow: /\n'),
  )

  // Same addressing and password rules as the spectator stream (/api/rooms/:room/stream); the /api rate limit applies.
  app.get('/api/rooms/:room/search', { schema: roomSearch }, async (req, reply) => {
    reply.header('Cache-Control', 'no-store')
    const header = req.headers['x-room-password']
    const password = req.query.password || (typeof header === 'string' ? header : undefined)
    try {
      const room = await rooms.resolveRoom(req.params.room, password)
      const { results, total } = await rooms.searchPublic(room, { query: req.query.q, limit: req.query.limit, offset: req.query.offset }, 'q')
      const hits = results.map(({ message: m, snippet }) => ({ id: m.id, seq: m.seq, from: m.from, timestamp: m.timestamp, threadId: m.threadId, snippet }))
      return { results: hits, total }
    } catch (e) {
      if (!(e instanceof ActionError)) throw e
      if (e.code === 'ROOM_NOT_FOUND') return reply.status(404).send({ error: e.code, message: e.message })
      if (e.code === 'INVALID_PASSWORD') {
        const given = Boolean(password) || req.params.room.includes(':')
        return reply.status(given ? 403 : 401).send({ error: e.code, message: given ? e.message : 'This room is password-protected' })
      }
      if (e.code === 'MISSING_PARAMETER' || e.code === 'INVALID_PARAMETER') return reply.status(400).send({ error: e.code, message: e.message })
      throw e
    }
  })

  app.get('/:roomName', { schema: roomPage }, async (req, reply) => {
    const ref = req.params.roomName
    const { rawName: name, password: given } = splitRoomRef(ref, req.query.password)
    const browser = wantsHtml(req)
    const file = typeof req.query.file === 'string' ? req.query.file.replace(/^\/+/, '') : undefined

    let room
    try {
      room = await rooms.resolveRoom(name, given || undefined)
    } catch (err) {
      if (!(err instanceof ActionError)) throw err
      if (err.code === 'INVALID_PASSWORD') {
        const status = given ? 403 : 401
        return browser ? sendHtml(reply, passwordHtml(ctx(req), name, Boolean(given)), status) : sendText(req, reply, protectedText(name, Boolean(given)), status)
      }
      const creatable = isCreatableRoomName(normalizeRoomName(name))
      return browser ? sendHtml(reply, notFoundHtml(ctx(req), name, creatable), 404) : sendText(req, reply, notFoundText(req.baseUrl, name, creatable), 404)
    }

    const password = room.passwordHash ? given : null
    // The password form submits ?password=…: land on the room's own address.
    if (req.query.password !== undefined && !ref.includes(':')) return reply.redirect(roomPath(room.name, password), 303)

    const data = await loadRoom(app, rooms, config.reposDir, room, { password, byId: isUuid(name), file: browser ? file : undefined, maxFileBytes: MAX_FILE_BYTES })
    if (!browser) return sendText(req, reply, roomText(req.baseUrl, data))
    data.you = await people.view(req, reply, data, typeof req.query.reply === 'string' ? req.query.reply : undefined)
    return sendHtml(reply, roomHtml(ctx(req), data))
  })
}

export default fp(webRoutes, { name: 'routes-web', dependencies: ['http', 'rooms'], encapsulate: true })
