// The `convene` command: picks the command, runs it, and turns every failure into one line on stderr and an exit
// code (0 ok, 1 error, 2 usage). `convene hook` never exits 2: agent hooks read 2 as "block".
import { ConveneError } from '../client/index.ts'
import { adminCommands } from './admin.ts'
import { AdminError } from './admin-error.ts'
import { GLOBAL, UsageError, bool, commandWords, parseLine, type Opts } from './args.ts'
import { makeContext, type Command, type Ctx } from './context.ts'
import { NotJoined } from './credentials.ts'
import { hookCommand } from './hook.ts'
import { messageCommands } from './messages.ts'
import { moreCommands } from './more.ts'
import { output } from './output.ts'
import { roomCommands } from './rooms.ts'

const serverCommand: Command = {
  name: 'server',
  usage: '[--port N] [--host ADDR] [--data-dir DIR]',
  summary: 'run the server (as npm start: every setting from the environment, see the README)',
  options: {
    port: { type: 'string', arg: 'N', help: 'PORT' },
    host: { type: 'string', arg: 'ADDR', help: 'HOST' },
    'data-dir': { type: 'string', arg: 'DIR', help: 'DATA_DIR' },
  },
  async run(ctx) {
    for (const [opt, env] of [['port', 'PORT'], ['host', 'HOST'], ['data-dir', 'DATA_DIR']] as const) {
      const v = ctx.values[opt]
      if (typeof v === 'string') process.env[env] = v
    }
    await import('../server.ts')
    return -1 // keeps running; server.ts exits on its own
  },
}

const COMMANDS: Command[] = [...roomCommands, ...messageCommands, ...moreCommands, hookCommand, serverCommand, ...adminCommands]
const GROUPS = new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]))

function optionHelp(opts: Opts): string[] {
  return Object.entries(opts).map(([k, o]) => `  --${k}${o.arg ? ` ${o.arg}` : ''}`.padEnd(26) + o.help)
}

function help(name?: string): string {
  const c = COMMANDS.find((x) => x.name === name)
  if (c) return [`usage: convene ${c.name} ${c.usage}`.trimEnd(), '', c.summary, '', 'options:', ...optionHelp({ ...c.options, ...GLOBAL })].join('\n')
  return [
    'usage: convene COMMAND [options]      (convene COMMAND --help for one command)',
    '',
    ...COMMANDS.map((x) => `  ${x.name.padEnd(15)} ${x.summary}`),
    '',
    'options of every command:',
    ...optionHelp(GLOBAL),
    '',
    'Tokens are kept in $XDG_CONFIG_HOME/convene/credentials.json (else ~/.config/convene/), readable by you only.',
  ].join('\n')
}

const allOptions = (): Opts => Object.assign({}, GLOBAL, ...COMMANDS.map((c) => c.options))

/** Runs the command line; resolves to the exit code (-1: still running, e.g. the server). */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let command: Command | undefined
  let ctx: Ctx | undefined
  try {
    const words = commandWords(argv, allOptions())
    const wantsHelp = argv.includes('--help') || argv.includes('-h')
    if (words[0] === 'version' || argv[0] === '--version') {
      const { VERSION } = await import('../lib/config.ts')
      process.stdout.write(`convene ${VERSION}\n`)
      return 0
    }
    if (words.length === 0 || words[0] === 'help') {
      const name = words.slice(1).join(' ') || undefined
      // Bare `convene` is a usage error: the help goes to stderr.
      const bare = words.length === 0 && !wantsHelp
      ;(bare ? process.stderr : process.stdout).write(`${help(name)}\n`)
      return bare ? 2 : 0
    }
    const two = words.slice(0, 2).join(' ')
    command = COMMANDS.find((c) => c.name === two) ?? COMMANDS.find((c) => c.name === words[0])
    if (!command) {
      if (GROUPS.has(words[0])) {
        const subs = COMMANDS.filter((c) => c.name.startsWith(`${words[0]} `)).map((c) => c.name.split(' ')[1])
        throw new UsageError(words[1] ? `unknown command: ${words[0]} ${words[1]} (${words[0]} ${subs.join('|')})` : `${words[0]} what? ${words[0]} ${subs.join('|')}`)
      }
      throw new UsageError(`unknown command: ${words[0]} (see convene --help)`)
    }
    if (wantsHelp) {
      process.stdout.write(`${help(command.name)}\n`)
      return 0
    }
    const { values, args } = parseLine(argv, command.options, command.name.split(' ').length)
    ctx = makeContext(values, args, output(bool(values, 'json'), bool(values, 'show-token')), env)
    return (await command.run(ctx)) ?? 0
  } catch (err) {
    return fail(err, command, ctx)
  }
}

function fail(err: unknown, command: Command | undefined, ctx: Ctx | undefined): number {
  const where = command ? `convene ${command.name}` : 'convene'
  const line = (s: string) => process.stderr.write(`${where}: ${s}\n`)
  const hook = command?.name === 'hook'
  if (err instanceof UsageError) {
    line(`${err.message}${command && !hook ? ` (see ${where} --help)` : ''}`)
    return hook ? 1 : 2
  }
  if (err instanceof ConveneError) {
    const used = ctx?.used
    if (err.code === 'INVALID_TOKEN' && used) {
      line(`the stored token of ${used.agent} in ${used.roomName} no longer works (left, kicked, or the room expired): join again with convene room join ${used.roomName} --as ${used.agent}`)
    } else line(err.message)
    return 1
  }
  if (err instanceof NotJoined) {
    line(err.message)
    return 1
  }
  const e = err as Error
  if (e instanceof AdminError) {
    line(e.message)
    return 1
  }
  line(e?.message ?? String(err))
  if (process.env.CONVENE_DEBUG) process.stderr.write(`${e?.stack}\n`)
  return 1
}
