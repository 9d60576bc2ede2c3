// `convene admin rooms|room|gc|export`: operator commands on the store (the work is in admin-ops.ts, loaded on use).
import { UsageError, bool, str, type Opts } from './args.ts'
import type { Command, Ctx } from './context.ts'
import { table } from './output.ts'

const force: Opts = { force: { type: 'boolean', help: 'open the embedded store even though it looks open (after a crash)' } }
const ops = () => import('./admin-ops.ts')
const iso = (d: Date) => d.toISOString()

const oneRoom = (ctx: Ctx, usage: string): string => {
  if (ctx.args.length !== 1) throw new UsageError(`give one room: ${usage}`)
  return ctx.args[0]
}

export const adminCommands: Command[] = [
  {
    name: 'admin rooms',
    usage: '',
    summary: 'every room of the store, protected ones too',
    options: force,
    async run(ctx) {
      if (ctx.args.length) throw new UsageError(`unexpected argument ${JSON.stringify(ctx.args[0])}`)
      const rooms = await (await ops()).rooms(ctx.env, bool(ctx.values, 'force'))
      const rows = rooms.map((r) => [r.id, r.name, r.passwordProtected ? 'protected' : 'open', r.type, String(r.agents), String(r.messages), iso(r.lastActivity)])
      ctx.out.print(
        rooms.length ? [...table([['ID', 'NAME', 'ACCESS', 'TYPE', 'AGENTS', 'MESSAGES', 'LAST ACTIVITY'], ...rows]), `${rooms.length} room(s)`] : 'No rooms.',
        rooms,
      )
    },
  },
  {
    name: 'admin room',
    usage: 'ROOM',
    summary: 'one room (UUID or name): details, agents, leases, repository',
    options: force,
    async run(ctx) {
      const admin = await ops()
      const { room, agents, leases, repository: repo } = await admin.room(ctx.env, bool(ctx.values, 'force'), oneRoom(ctx, 'convene admin room ROOM'))
      const value = {
        room: admin.roomJson(room),
        agents: agents.map((a) => ({ name: a.name, role: a.role, kind: a.kind, joinedAt: iso(a.joinedAt), readUpTo: a.cursor, endpoint: a.endpoint })),
        leases: leases.map((l) => ({ agent: l.agent, path: l.path, exclusive: l.exclusive, reason: l.reason, expiresAt: iso(l.expiresAt) })),
        repository: repo,
      }
      ctx.out.print(
        [
          `${room.name} (${room.id}): ${room.type}, ${room.passwordHash ? 'password-protected' : 'open'}, ${room.lastSeq} message(s)`,
          `created ${iso(room.createdAt)}, last activity ${iso(room.lastActivity)}`,
          ...(room.description ? [`description: ${room.description}`] : []),
          `${agents.length} agent(s):`,
          ...table(agents.map((a) => ['  ' + a.name, a.role, a.kind, `joined ${iso(a.joinedAt)}`, `read up to #${a.cursor}`, a.endpoint ? `push to ${a.endpoint}` : ''])),
          `${leases.length} active lease(s)${leases.length ? ':' : ''}`,
          ...leases.map((l) => `  ${l.agent}: ${l.path} (${l.exclusive ? 'exclusive' : 'shared'}) until ${iso(l.expiresAt)}`),
          repo ? `repository ${repo.path}: ${repo.bytes} bytes, ${repo.refs.length} ref(s)` : 'repository: not created yet',
          ...(repo?.refs.map((r) => `  ${r.oid.slice(0, 12)} ${r.name}`) ?? []),
        ],
        value,
      )
    },
  },
  {
    name: 'admin gc',
    usage: '',
    summary: 'delete idle rooms (ROOM_TTL_DAYS) and orphaned repositories, prune unreachable git objects',
    options: force,
    async run(ctx) {
      if (ctx.args.length) throw new UsageError(`unexpected argument ${JSON.stringify(ctx.args[0])}`)
      const r = await (await ops()).gc(ctx.env, bool(ctx.values, 'force'))
      ctx.out.print(
        [
          `${r.expiredRooms.length} idle room(s) deleted${r.expiredRooms.length ? `: ${r.expiredRooms.join(', ')}` : ''}`,
          `${r.orphanRepositories} orphaned repositor${r.orphanRepositories === 1 ? 'y' : 'ies'} deleted`,
          `${r.objectsPruned} unreachable git object(s) pruned (${r.packsRewritten} pack(s) rewritten)`,
          `${r.waitTasksDeleted} ended wait task(s) deleted`,
        ],
        r,
      )
    },
  },
  {
    name: 'admin export',
    usage: 'ROOM [--out DIR]',
    summary: "a room's messages (JSON lines, DMs too), details and repository (git bundle): backups, moves",
    options: { out: { type: 'string', arg: 'DIR', help: 'where to write (default ./convene-export-<name>-<id>)' }, ...force },
    async run(ctx) {
      const ref = oneRoom(ctx, 'convene admin export ROOM [--out DIR]')
      const r = await (await ops()).exportRoom(ctx.env, bool(ctx.values, 'force'), ref, str(ctx.values, 'out'))
      ctx.out.print(
        [
          `Exported to ${r.out}:`,
          `  messages.jsonl     ${r.messages} message(s)`,
          r.bundle ? `  repository.bundle  ${r.refs} ref(s), ${r.objects} object(s): git clone ${r.bundle}` : '  (empty repository: no bundle)',
          '  room.json          details and agents',
        ],
        r,
      )
    },
  },
]
