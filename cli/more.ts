// `convene lease …`, `convene git-url` and `convene call` (any action of the table, by name, with key=value parameters).
import { UsageError, bool, intOpt, str } from './args.ts'
import type { Command } from './context.ts'
import { table } from './output.ts'

const ttl = { ttl: { type: 'string' as const, arg: 'SECONDS', help: 'how long (default 3600, at most 86400)' } }

/** `key=value` → [key, value]; a value that reads as JSON (numbers, true, ["a"]) is taken as such. */
function param(arg: string): [string, unknown] {
  const eq = arg.indexOf('=')
  if (eq <= 0) throw new UsageError(`parameters are key=value, not ${JSON.stringify(arg)}`)
  const raw = arg.slice(eq + 1)
  try {
    return [arg.slice(0, eq), JSON.parse(raw)]
  } catch {
    return [arg.slice(0, eq), raw]
  }
}

export const moreCommands: Command[] = [
  {
    name: 'lease acquire',
    usage: 'PATH… [--shared] [--ttl SECONDS] [--reason TEXT]',
    summary: "claim repository paths or globs: others' pushes touching them are refused",
    options: { shared: { type: 'boolean', help: 'a shared lease (announces, does not refuse)' }, ...ttl, reason: { type: 'string', arg: 'TEXT', help: 'what you are doing' } },
    async run(ctx) {
      if (!ctx.args.length) throw new UsageError('give the paths to lease')
      const p = { paths: ctx.args, exclusive: !bool(ctx.values, 'shared'), ttl: intOpt(ctx.values, 'ttl', 1), reason: str(ctx.values, 'reason') }
      const { client } = ctx.agent()
      const r = await client.lease.acquire(p)
      ctx.out.print(`Leased ${r.lease.paths.join(', ')} (${r.lease.exclusive ? 'exclusive' : 'shared'}) until ${r.lease.expiresAt}.`, r)
    },
  },
  {
    name: 'lease renew',
    usage: '[PATH…] [--ttl SECONDS]',
    summary: 'extend your leases (all, or those on PATHs)',
    options: ttl,
    async run(ctx) {
      const p = { paths: ctx.args.length ? ctx.args : undefined, ttl: intOpt(ctx.values, 'ttl', 1) }
      const { client } = ctx.agent()
      const r = await client.lease.renew(p)
      ctx.out.print(`Renewed ${r.paths.join(', ')} until ${r.expiresAt}.`, r)
    },
  },
  {
    name: 'lease release',
    usage: '[PATH…]',
    summary: 'release your leases (all, or those on PATHs)',
    options: {},
    async run(ctx) {
      const { client } = ctx.agent()
      const r = await client.lease.release({ paths: ctx.args.length ? ctx.args : undefined })
      ctx.out.print(`Released ${r.released.join(', ')}.`, r)
    },
  },
  {
    name: 'lease list',
    usage: '',
    summary: "the room's active leases",
    options: {},
    async run(ctx) {
      const { client } = ctx.agent()
      const r = await client.lease.list()
      const rows = r.leases.map((l) => [l.agent, l.paths.join(' '), l.exclusive ? 'exclusive' : 'shared', l.expiresAt, l.reason])
      ctx.out.print(rows.length ? table([['AGENT', 'PATHS', 'KIND', 'UNTIL', 'REASON'], ...rows]) : 'No active leases.', r)
    },
  },
  {
    name: 'git-url',
    usage: '[--no-credentials]',
    summary: "the room's git URL with your agent name and token in it (pushes count as yours)",
    options: { 'no-credentials': { type: 'boolean', help: 'the URL without name and token' } },
    async run(ctx) {
      const { client } = ctx.agent()
      const url = client.gitUrl({ credentials: !bool(ctx.values, 'no-credentials') })
      ctx.out.print(url, { url })
    },
  },
  {
    name: 'call',
    usage: 'ACTION [key=value…]',
    summary: 'call any action by name or alias (values that read as JSON are JSON); the stored agent fills agentToken',
    options: { anonymous: { type: 'boolean', help: 'send no agentToken or room (e.g. room.list)' } },
    async run(ctx) {
      const [action, ...rest] = ctx.args
      if (!action) throw new UsageError('which action? e.g. convene call room.promote targetAgent=bob')
      const params = Object.fromEntries(rest.map(param))
      const client = bool(ctx.values, 'anonymous') ? ctx.anon() : ctx.agent().client
      const r = await client.raw(action, params)
      ctx.out.print(r.text, r.data)
    },
  },
]
