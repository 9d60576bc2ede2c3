// Git Smart HTTP: /rooms/:name/info/refs, /git-upload-pack, /git-receive-pack (see lib/git).
import { Readable } from 'node:stream'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import type { Config } from '../../lib/config.ts'
import {
  advertiseV0,
  advertiseV2,
  DEFAULT_LIMITS,
  deleteRepo,
  openRepo,
  ProtocolError,
  receivePack,
  repoPath,
  summarizePush,
  uploadPackV0,
  uploadPackV2,
} from '../../lib/git/index.ts'
import type { Repo, Service } from '../../lib/git/index.ts'
import { CredentialsRequired } from '../../lib/git/receive-pack.ts'
import type { Pusher } from '../../lib/git/push-rules.ts'
import { basicCredentials, roomRef } from './auth.ts'
import { BodyTooLarge, gitBody } from './body.ts'
import { repoBytes } from './quota.ts'
import { schedulePrunes } from './prune.ts'

const SERVICES: Service[] = ['git-upload-pack', 'git-receive-pack']
const REQUEST_TYPES = SERVICES.map((s) => `application/x-${s}-request`)
const UPLOAD_REQUEST_LIMIT = 64 * 2 ** 20

/** `:name` is a room reference (name, name:password or id); git's answers are its own text, so no reply schemas. */
const RoomParams = Type.Object({ name: Type.String() })
/** Any other `service` (none, a repeated one) is refused by the route itself, in git's words. */
const infoRefs = { params: RoomParams, querystring: Type.Object({ service: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])) }) }
const packRequest = { params: RoomParams }

/** `Git-Protocol: version=2` (colon-separated key=value list). */
const wantsV2 = (req: FastifyRequest) => String(req.headers['git-protocol'] ?? '').split(':').includes('version=2')

const gitRoutes: FastifyPluginAsync<{ config: Config }> = async (fastify, { config }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const metrics = app.metrics
  const rooms = app.rooms
  const repoDir = (roomId: string) => repoPath(config.reposDir, roomId)
  const prunes = schedulePrunes(app, config.gitPruneGraceSeconds, repoDir)

  rooms.onRoomsDeleted((ids) => {
    for (const id of ids) deleteRepo(repoDir(id))
  })

  // Hand the raw request stream to the handlers: no buffering, no bodyLimit (we count ourselves).
  app.addContentTypeParser(REQUEST_TYPES, (_req, payload, done) => done(null, payload))

  const noCache = (reply: FastifyReply) =>
    reply.header('Cache-Control', 'no-cache').header('Pragma', 'no-cache').header('Expires', 'Fri, 01 Jan 1980 00:00:00 GMT')

  const challenge = (reply: FastifyReply, text: string) =>
    reply.header('WWW-Authenticate', 'Basic realm="Convene"').code(401).type('text/plain').send(`${text}\n`)

  /** Resolves the room and the agent behind the credentials; on failure answers 404/401/403 and returns null. */
  async function access(name: string, req: FastifyRequest, reply: FastifyReply): Promise<{ roomId: string; pusher: Pusher | null } | null> {
    const res = await rooms.gitAccess(roomRef(name), basicCredentials(req.headers.authorization))
    if (res.ok) return { roomId: res.roomId, pusher: res.agent }
    if (res.reason === 'auth-required') challenge(reply, 'Authentication required')
    else if (res.reason === 'forbidden') reply.code(403).type('text/plain').send('Invalid room password\n')
    else if (res.reason === 'bad-token') reply.code(403).type('text/plain').send('Invalid agent name or token\n')
    else reply.code(404).type('text/plain').send(`Room not found: ${roomRef(name)}\n`)
    return null
  }

  /** Sends generator output as a stream; errors before the first byte become a plain 4xx/5xx. */
  async function stream(req: FastifyRequest, reply: FastifyReply, type: string, gen: AsyncGenerator<Buffer>) {
    let first: IteratorResult<Buffer>
    try {
      first = await gen.next()
    } catch (err) {
      if (!req.raw.complete) reply.header('Connection', 'close')
      if (err instanceof CredentialsRequired) return challenge(reply, err.message)
      const badBody = err instanceof ProtocolError || err instanceof BodyTooLarge || String((err as { code?: string }).code).startsWith('Z_')
      if (badBody) return reply.code(400).type('text/plain').send(`${(err as Error).message}\n`)
      throw err
    }
    noCache(reply).header('Content-Type', type)
    // A body we stopped reading (over the limit) must not be mistaken for the next request.
    if (!req.raw.complete) reply.header('Connection', 'close')
    if (first.done) return reply.send(Buffer.alloc(0))
    const log = reply.log
    const rest = async function* () {
      yield first.value
      try {
        yield* gen
      } catch (err) {
        log.error({ err }, 'git response failed mid-stream')
        throw err
      }
    }
    return reply.send(Readable.from(rest(), { objectMode: false }))
  }

  app.get('/rooms/:name/info/refs', { schema: infoRefs }, async (req, reply) => {
    const service = req.query.service as Service
    if (!SERVICES.includes(service)) return reply.code(403).type('text/plain').send('Only the smart HTTP protocol is supported\n')
    const granted = await access(req.params.name, req, reply)
    if (!granted) return reply
    const roomId = granted.roomId
    const v2 = service === 'git-upload-pack' && wantsV2(req)
    const repo = openRepo(repoDir(roomId))
    let body: Buffer
    try {
      body = Buffer.concat(v2 ? advertiseV2() : advertiseV0(repo, service))
    } finally {
      repo.release()
    }
    noCache(reply).header('Content-Type', `application/x-${service}-advertisement`)
    return reply.send(body)
  })

  const post = (service: Service, run: (repo: Repo, body: Readable, req: FastifyRequest, roomId: string, pusher: Pusher | null) => AsyncGenerator<Buffer>) =>
    app.post(`/rooms/:name/${service}`, { schema: packRequest }, async (req, reply) => {
      if (!String(req.headers['content-type'] ?? '').startsWith(`application/x-${service}-request`)) {
        return reply.code(415).type('text/plain').send(`Expected application/x-${service}-request\n`)
      }
      const granted = await access(req.params.name, req, reply)
      if (!granted) return reply
      const { roomId, pusher } = granted
      // Fetch requests are want/have lists: they never need the push limit.
      let limit = service === 'git-upload-pack' ? Math.min(config.gitMaxPushBytes, UPLOAD_REQUEST_LIMIT) : config.gitMaxPushBytes
      if (service === 'git-receive-pack' && config.repoQuotaBytes > 0) {
        // A push may add at most what is left of the room's quota.
        const left = config.repoQuotaBytes - (await repoBytes(repoDir(roomId)))
        if (left <= 0) {
          return reply.code(413).header('Connection', 'close').type('text/plain').send(`Repository quota of ${config.repoQuotaBytes} bytes reached\n`)
        }
        limit = Math.min(limit, left)
      }
      const body = gitBody(req.body as Readable, req.headers['content-encoding'], limit, (n) => metrics.gitBytes.inc({ direction: 'in' }, n))
      const repo = openRepo(repoDir(roomId))
      const done = metrics.gitPackDuration.startTimer({ service })
      const gen = async function* () {
        try {
          for await (const chunk of run(repo, body, req, roomId, pusher)) {
            metrics.gitBytes.inc({ direction: 'out' }, chunk.length)
            yield chunk
          }
        } finally {
          repo.release()
          done()
        }
      }
      return stream(req, reply, `application/x-${service}-result`, gen())
    })

  post('git-upload-pack', (repo, body, req) => (wantsV2(req) ? uploadPackV2(repo, body) : uploadPackV0(repo, body)))

  post('git-receive-pack', (repo, body, req, roomId, pusher) => {
    let leases: Awaited<ReturnType<typeof rooms.leaseRules>> = null
    return receivePack(repo, body, {
      withLock: (fn) => rooms.withRepoLock(roomId, fn),
      limits: { ...DEFAULT_LIMITS, quotaBytes: config.repoQuotaBytes },
      pusher,
      // git sends credentials only when asked, and can ask its user or helper and resend a body it did not stream.
      unauthenticated: req.headers.authorization ? undefined : req.headers['content-length'] !== undefined ? 'challenge' : 'streamed',
      pathRules: async (options) => {
        leases = await rooms.leaseRules(roomId, pusher, options.includes('lease-override'))
        return leases?.refusal ?? null
      },
      onPushed: async (updates, before) => {
        prunes.touched(roomId)
        try {
          const overridden = leases?.overridden() ?? []
          if (overridden.length && pusher) {
            const which = overridden.map((l) => `${l.agent}'s ${l.path}`).join(', ')
            await rooms.postNotice(roomId, `${pusher.name} pushed over ${which} with lease-override (${updates.map((u) => u.name.replace(/^refs\/heads\//, '')).join(', ')})`)
          }
          const text = await summarizePush(repo, updates, before, pusher?.name)
          if (text) await rooms.postNotice(roomId, text)
        } catch (err) {
          req.log.warn({ err }, 'git push notice failed')
        }
      },
    })
  })
}

export default fp(gitRoutes, { name: 'routes-git', dependencies: ['rooms', 'metrics'], encapsulate: true })
