// `convene room create|join|info|list|leave`: rooms and membership; create and join store the agentToken.
import { ConveneError } from '../client/index.ts'
import { UsageError, intOpt, str, type Opts } from './args.ts'
import type { Command, Ctx } from './context.ts'
import { messageLine, table } from './output.ts'

const needAs = (ctx: Ctx): string => {
  if (!ctx.as) throw new UsageError('--as NAME is required: the name you take in the room')
  return ctx.as
}

const roomArg = (ctx: Ctx, what: string): string => {
  const ref = ctx.args[0] ?? ctx.room
  if (!ref) throw new UsageError(`which room? ${what}`)
  return ref
}

const tokenNote = (ctx: Ctx, token: string) =>
  ctx.out.showToken ? `agentToken: ${token}` : `Token saved in ${ctx.creds.file} (print it with --show-token).`

const endpoint: Opts = { endpoint: { type: 'string', arg: 'URL', help: 'agentEndpoint: where the server POSTs room events (A2A push)' } }
const password: Opts = { password: { type: 'string', arg: 'PASSWORD', help: 'the room password (or write ROOM as name:password)' } }

export const roomCommands: Command[] = [
  {
    name: 'room create',
    usage: '[NAME] --as NAME [--password P] [--description TEXT] [--type group|channel]',
    summary: 'create a room and join it as its admin',
    options: {
      ...password,
      description: { type: 'string', arg: 'TEXT', help: 'what the room is for' },
      type: { type: 'string', arg: 'TYPE', help: 'group (everyone posts, default) or channel (admins post)' },
      ...endpoint,
    },
    async run(ctx) {
      const agentName = needAs(ctx)
      if (ctx.args.length > 1) throw new UsageError('one room name at a time')
      const r = await ctx.anon().room.create({
        agentName,
        name: ctx.args[0] ?? ctx.room,
        password: str(ctx.values, 'password'),
        description: str(ctx.values, 'description'),
        type: str(ctx.values, 'type') as 'group' | 'channel' | undefined,
        agentEndpoint: str(ctx.values, 'endpoint'),
      })
      ctx.creds.save({ server: ctx.server, roomId: r.roomId, roomName: r.name, agent: r.agentName, token: r.agentToken })
      ctx.out.print([`Created room ${r.name} (${r.roomId}) as ${r.agentName}, its admin.`, tokenNote(ctx, r.agentToken)], r)
    },
  },
  {
    name: 'room join',
    usage: 'ROOM --as NAME [--password P]',
    summary: 'join a room (again: reconnects with the stored token and shows what you missed)',
    options: { ...password, ...endpoint },
    async run(ctx) {
      const ref = roomArg(ctx, 'convene room join ROOM --as NAME')
      const agentName = needAs(ctx)
      const anon = ctx.anon()
      const stored = ctx.creds.matching(ctx.server, ref, agentName)[0]
      const r = await anon.room.join({
        roomId: ref,
        agentName,
        password: str(ctx.values, 'password'),
        agentToken: stored?.token,
        agentEndpoint: str(ctx.values, 'endpoint'),
      })
      const info = await anon.room.info({ roomId: r.roomId })
      ctx.creds.save({ server: ctx.server, roomId: r.roomId, roomName: info.name, agent: r.agentName, token: r.agentToken })
      const again = stored?.token === r.agentToken
      const missed = r.missedMessages ?? []
      ctx.out.print(
        [
          `${again ? 'Reconnected to' : 'Joined'} ${info.name} (${r.roomId}) as ${r.agentName} (${r.role}).`,
          tokenNote(ctx, r.agentToken),
          ...(missed.length ? [`${missed.length} message(s) you had not seen:`, ...missed.map((m) => messageLine(m, { me: agentName }))] : []),
        ],
        { ...r, name: info.name },
      )
    },
  },
  {
    name: 'room info',
    usage: '[ROOM] [--password P]',
    summary: "a room's details and participants",
    options: password,
    async run(ctx) {
      const ref = ctx.args[0] ?? ctx.room ?? ctx.creds.pick(ctx.server, undefined, ctx.as).roomId
      // A stored room is asked for by UUID, which needs no password.
      const known = ctx.creds.matching(ctx.server, ref)
      const roomId = new Set(known.map((c) => c.roomId)).size === 1 ? known[0].roomId : ref
      const r = await ctx.anon().room.info({ roomId, password: str(ctx.values, 'password') })
      ctx.out.print(
        [
          `${r.name} (${r.roomId})`,
          `type: ${r.type}${r.passwordProtected ? ', password-protected' : ''}; created ${r.createdAt}`,
          ...(r.description ? [`description: ${r.description}`] : []),
          `${r.agents.length} participant(s):`,
          ...table(r.agents.map((a) => ['  ' + a.name, a.kind === 'human' ? `${a.role} (human)` : a.role, `joined ${a.joinedAt}`])),
        ],
        r,
      )
    },
  },
  {
    name: 'room list',
    usage: '[--search TEXT] [--limit N] [--offset N]',
    summary: 'public rooms',
    options: {
      search: { type: 'string', arg: 'TEXT', help: 'only rooms whose name or description contains it' },
      limit: { type: 'string', arg: 'N', help: 'how many (default 20, max 100)' },
      offset: { type: 'string', arg: 'N', help: 'how many to skip' },
    },
    async run(ctx) {
      const r = await ctx.anon().room.list({ search: str(ctx.values, 'search'), limit: intOpt(ctx.values, 'limit', 1), offset: intOpt(ctx.values, 'offset') })
      const rows = r.rooms.map((x) => [x.name, `${x.agents} agent(s)`, x.type, x.description])
      ctx.out.print(r.rooms.length ? [...table([['NAME', 'AGENTS', 'TYPE', 'DESCRIPTION'], ...rows]), `${r.total} room(s)`] : 'No public rooms.', r)
    },
  },
  {
    name: 'room leave',
    usage: '--room ROOM [--as NAME]',
    summary: 'leave the room (the stored token is forgotten)',
    options: {},
    async run(ctx) {
      const { client, cred } = ctx.agent()
      try {
        await client.room.leave()
      } catch (err) {
        // Already gone (left elsewhere, kicked, expired): forgetting the token is all there is left to do.
        if (!(err instanceof ConveneError && err.code === 'INVALID_TOKEN')) throw err
      }
      ctx.creds.remove(cred)
      ctx.out.print(`Left ${cred.roomName} (${cred.agent}).`, { left: true, roomId: cred.roomId, agentName: cred.agent })
    },
  },
]
