/** People on the room page: joining with a name, posting, DMs, replies and leaving as form posts; the agentToken lives in a cookie. */
import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import formbody from '@fastify/formbody'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Config } from '../../lib/config.ts'
import { ActionError } from '../../lib/errors.ts'
import { isUuid } from '../../lib/ids.ts'
import { PERSON_COOKIE } from '../../lib/net/person-cookie.ts'
import { splitRoomRef } from '../../lib/rooms/refs.ts'
import type { RoomRecord } from '../../lib/store.ts'
import { html } from './html.ts'
import { layout, type PageContext } from './layout.ts'
import { sendHtml } from './negotiate.ts'
import type { Person, RoomData, You } from './room-data.ts'
import { pagePath, roomPath } from './room-page.ts'

/** The CSRF secret (double submit: the forms carry a token made from it). */
const CSRF_COOKIE = 'convene_csrf'

const Form = Type.Object({
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
  name: Type.Optional(Type.String({ maxLength: 1000 })),
  text: Type.Optional(Type.String()),
  to: Type.Optional(Type.String({ maxLength: 1000 })),
  replyTo: Type.Optional(Type.String({ maxLength: 100 })),
  op: Type.Optional(Type.Union([Type.Literal('promote'), Type.Literal('demote'), Type.Literal('kick')])),
  target: Type.Optional(Type.String({ maxLength: 1000 })),
})
const formPost = { params: Type.Object({ roomName: Type.String() }), body: Form }

/** A request refused: its status, a code for scripts and a sentence for people. */
class Refusal extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** The page path whose person cookie is stale and goes. */
    readonly forget?: string,
  ) {
    super(message)
  }
}

/** The room service's errors, worded for a person at the page. */
function fromAction(e: ActionError, passwordGiven: boolean): Refusal {
  switch (e.code) {
    case 'ROOM_NOT_FOUND':
      return new Refusal(404, e.code, e.message)
    case 'INVALID_PASSWORD':
      return passwordGiven ? new Refusal(403, e.code, 'Wrong room password.') : new Refusal(401, e.code, 'This room is password-protected.')
    case 'AGENT_NAME_TAKEN':
      return new Refusal(409, e.code, 'That name is already taken in this room; pick another.')
    case 'ROOM_FULL':
      return new Refusal(409, e.code, e.message)
    case 'CHANNEL_ADMIN_ONLY':
    case 'ADMIN_REQUIRED':
    case 'LAST_ADMIN':
    case 'CANNOT_KICK_SELF':
      return new Refusal(403, e.code, e.message)
    case 'RATE_LIMITED':
      return new Refusal(429, e.code, e.message)
    default:
      return new Refusal(400, e.code, e.message.replace(/^agentName /, 'The name '))
  }
}

/** A script asking for JSON (room.js) rather than a browser's form post. */
const wantsJson = (req: FastifyRequest) => /\bapplication\/json\b/.test(req.headers.accept ?? '') && !/\btext\/html\b/.test(req.headers.accept ?? '')

/** The page a form was posted from, as the browser addressed it (the refusal page links back to it). */
function pageOfRequest(req: FastifyRequest): string {
  const path = req.url.split('?')[0]
  const page = path.slice(0, path.lastIndexOf('/'))
  return /^\/[^/\\]/.test(page) ? page : '/'
}

function refusalHtml(ctx: PageContext, r: Refusal, back: string) {
  return layout(ctx, {
    title: 'Not done — Convene',
    body: html`<section class="card narrow" id="refused">
<h1>Not done</h1>
<p class="error" role="alert" data-code="${r.code}">${r.message}</p>
<p><a href="${back}">Back to the room</a></p>
</section>`,
  })
}

export interface People {
  /** What the room page offers this browser: the join form, or the person's forms, recent DMs and the reply it asked for. */
  view(req: FastifyRequest, reply: FastifyReply, d: RoomData, replyId?: string): Promise<You>
}

/** Where a room's page is (as pagePath says) for a reference's name part: its UUID, or its name with the password given. */
const pageFor = (room: RoomRecord, rawName: string, password: string): string =>
  isUuid(rawName) ? `/${room.id}` : roomPath(room.name, room.passwordHash ? password : null)

export async function registerPeople(app: FastifyInstance, opts: { config: Config; ctx: (req: FastifyRequest) => PageContext }): Promise<People> {
  const { config, ctx } = opts
  const rooms = app.rooms
  await app.register(cookie)
  await app.register(formbody)
  await app.register(csrf, {
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict' },
    getToken: (req) => (req.body as { _csrf?: string } | undefined)?._csrf,
  })

  const secure = (req: FastifyRequest) => req.protocol === 'https' || (config.baseUrl ?? '').startsWith('https:')
  const cookieOpts = (req: FastifyRequest, path: string) => ({ path, httpOnly: true, sameSite: 'strict' as const, secure: secure(req) })

  /** The person this request's cookie joined to this room, if it still is. */
  async function personOf(req: FastifyRequest, room: RoomRecord): Promise<Person | null> {
    const token = req.cookies[PERSON_COOKIE]
    if (!token) return null
    try {
      const { agent } = await rooms.authenticate(token, room.id)
      return { name: agent.name, role: agent.role, token }
    } catch (e) {
      if (e instanceof ActionError) return null
      throw e
    }
  }

  /** Drops a stale person cookie (left, kicked, room gone). */
  function forget(req: FastifyRequest, reply: FastifyReply, path: string) {
    if (req.cookies[PERSON_COOKIE] !== undefined) reply.clearCookie(PERSON_COOKIE, cookieOpts(req, path))
  }

  const people: People = {
    async view(req, reply, d, replyId) {
      const path = pagePath(d)
      const person = await personOf(req, d.room)
      if (!person) forget(req, reply, path)
      // Their recent DMs up to what the page shows; the page's own stream brings the rest.
      const dms = person
        ? (await rooms.history({ agentToken: person.token, roomId: d.room.id, limit: 100 })).data.messages.filter((m) => m.to !== undefined && m.seq <= d.after)
        : []
      let replyTo: You['replyTo'] = null
      if (person && replyId) {
        const pub = d.messages.find((m) => m.id === replyId)
        const dm = pub ? undefined : dms.find((m) => m.id === replyId)
        if (pub) replyTo = { id: pub.id, from: pub.from, body: pub.body, dmWith: null }
        else if (dm) replyTo = { id: dm.id, from: dm.from, body: dm.body, dmWith: dm.from === person.name ? dm.to! : dm.from }
      }
      // The forms' CSRF token; its secret cookie is set, scoped to the page, on first sight.
      const csrfToken = reply.generateCsrf(cookieOpts(req, path))
      return { person: person && { name: person.name, role: person.role }, csrf: csrfToken, dms, replyTo }
    },
  }

  /** The room a form names in its path, as the page resolves it, and the page's canonical path. */
  async function pageRoom(ref: string): Promise<{ room: RoomRecord; path: string }> {
    const { rawName, password } = splitRoomRef(ref)
    try {
      const room = await rooms.resolveRoom(rawName, password || undefined)
      return { room, path: pageFor(room, rawName, password) }
    } catch (e) {
      if (e instanceof ActionError) throw fromAction(e, Boolean(password))
      throw e
    }
  }

  async function requirePerson(req: FastifyRequest, room: RoomRecord, path: string): Promise<Person> {
    const person = await personOf(req, room)
    if (person) return person
    const stale = req.cookies[PERSON_COOKIE] !== undefined
    throw new Refusal(401, 'NOT_JOINED', stale ? 'You are no longer in this room: join again.' : 'Join the room first.', stale ? path : undefined)
  }

  /** Done: back to the page (a form post), or a JSON answer (room.js). */
  function done(req: FastifyRequest, reply: FastifyReply, path: string, data: Record<string, unknown>, anchor = '') {
    reply.header('Cache-Control', 'no-store')
    if (wantsJson(req)) return reply.send({ ok: true, ...data })
    return reply.redirect(`${path}${anchor}`, 303)
  }

  /**
   * Form posts come from this server's own pages: a foreign Origin, or a browser's Sec-Fetch-Site other than
   * same-origin, is refused before anything else. An opaque Origin ("null", sent under a no-referrer policy) passes
   * only when the browser says same-origin.
   */
  async function sameOrigin(req: FastifyRequest) {
    const origin = req.headers.origin
    const site = req.headers['sec-fetch-site']
    const own = new Set([new URL(req.baseUrl).origin, `${req.protocol}://${req.host}`])
    const opaque = origin === 'null' && site === 'same-origin'
    if ((origin !== undefined && !own.has(origin) && !opaque) || (site !== undefined && site !== 'same-origin')) {
      throw new Refusal(403, 'FOREIGN_ORIGIN', 'This form was not sent from this server’s room page.')
    }
  }

  await app.register(async (scope) => {
    const posts = scope.withTypeProvider<TypeBoxTypeProvider>()
    scope.setErrorHandler((err, req, reply) => {
      let r: Refusal | null = null
      if (err instanceof Refusal) r = err
      else if (err instanceof ActionError) r = fromAction(err, false)
      else {
        const e = err as { code?: string; validation?: unknown }
        if (e.code === 'FST_CSRF_MISSING_SECRET' || e.code === 'FST_CSRF_INVALID_TOKEN') {
          r = new Refusal(403, 'CSRF', 'This form is out of date or did not come from the room page: reload the page and try again.')
        } else if (e.validation) r = new Refusal(400, 'INVALID_FORM', 'The form was not filled in as expected.')
      }
      if (!r) throw err
      if (r.forget) forget(req, reply, r.forget)
      reply.header('Cache-Control', 'no-store')
      if (wantsJson(req)) return reply.status(r.statusCode).send({ error: r.code, message: r.message })
      return sendHtml(reply, refusalHtml(ctx(req), r, pageOfRequest(req)), r.statusCode)
    })
    const guarded = { schema: formPost, onRequest: sameOrigin, preHandler: scope.csrfProtection }

    posts.post('/:roomName/join', guarded, async (req, reply) => {
      const { room, path } = await pageRoom(req.params.roomName)
      const name = (req.body.name ?? '').trim()
      if (name === '') throw new Refusal(400, 'MISSING_PARAMETER', 'Enter a name to join with.')
      const me = await personOf(req, room)
      if (me) throw new Refusal(409, 'ALREADY_JOINED', `You are already in this room as ${me.name}: leave first to join under another name.`)
      const joined = await rooms.join({ roomId: room.id, agentName: name }, undefined, 'human').catch((e) => {
        throw e instanceof ActionError && e.code === 'AGENT_NAME_TAKEN' ? new Refusal(409, e.code, `The name “${name}” is already taken in this room; pick another.`) : e
      })
      reply.setCookie(PERSON_COOKIE, joined.data.agentToken, { ...cookieOpts(req, path), maxAge: config.roomTtlDays * 86_400 })
      return done(req, reply, path, { name }, '#compose')
    })

    posts.post('/:roomName/send', guarded, async (req, reply) => {
      const { room, path } = await pageRoom(req.params.roomName)
      const me = await requirePerson(req, room, path)
      const text = req.body.text ?? ''
      if (text.trim() === '') throw new Refusal(400, 'MISSING_PARAMETER', 'Write something to send.')
      const sent = await rooms.send({ agentToken: me.token, text, to: req.body.to || undefined, replyTo: req.body.replyTo || undefined })
      return done(req, reply, path, { id: sent.data.id, seq: sent.data.seq }, '#compose')
    })

    // A person who is an admin acts on another participant as any admin would.
    posts.post('/:roomName/admin', guarded, async (req, reply) => {
      const { room, path } = await pageRoom(req.params.roomName)
      const me = await requirePerson(req, room, path)
      const { op, target } = req.body
      if (!op || !target) throw new Refusal(400, 'MISSING_PARAMETER', 'Choose a participant and what to do.')
      const p = { agentToken: me.token, targetAgent: target }
      await (op === 'promote' ? rooms.promote(p) : op === 'demote' ? rooms.demote(p) : rooms.kick(p))
      return done(req, reply, path, { op, target }, '#participants')
    })

    posts.post('/:roomName/leave', guarded, async (req, reply) => {
      const { room, path } = await pageRoom(req.params.roomName)
      const me = await requirePerson(req, room, path)
      await rooms.leave({ agentToken: me.token })
      forget(req, reply, path)
      return done(req, reply, path, {})
    })
  })

  return people
}
