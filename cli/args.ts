// Command-line parsing for `convene`: global options, per-command options, and usage errors (exit 2).
import { parseArgs } from 'node:util'

/** A mistake in the command line: one line on stderr, exit 2. */
export class UsageError extends Error {}

export interface Opt {
  type: 'string' | 'boolean'
  short?: string
  /** The value's name in help (string options). */
  arg?: string
  help: string
}
export type Opts = Record<string, Opt>
export type Values = Record<string, string | boolean | undefined>

export const GLOBAL: Opts = {
  server: { type: 'string', arg: 'URL', help: 'the server (default $CONVENE_URL, else http://127.0.0.1:3000)' },
  as: { type: 'string', arg: 'NAME', help: 'the agent to act as (default $CONVENE_AS, or the only one stored for the room)' },
  room: { type: 'string', arg: 'ROOM', help: 'the room: name, name:password or UUID (default $CONVENE_ROOM, or the only one stored)' },
  json: { type: 'boolean', help: 'print JSON instead of text' },
  'show-token': { type: 'boolean', help: 'also print agentTokens (never printed otherwise)' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
}

/** The words of the command (`room join`, `send`) and the rest of the line, read leniently: options are not checked yet. */
export function commandWords(argv: string[], known: Opts): string[] {
  const { positionals } = parseArgs({ args: argv, options: toNode(known), strict: false, allowPositionals: true })
  return positionals
}

/** Parses the line strictly against the global options and the command's; `skip` command words are dropped. */
export function parseLine(argv: string[], opts: Opts, skip: number): { values: Values; args: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: toNode({ ...GLOBAL, ...opts }), strict: true, allowPositionals: true })
    return { values: values as Values, args: positionals.slice(skip) }
  } catch (err) {
    throw new UsageError(describe(err as Error & { code?: string }))
  }
}

function toNode(opts: Opts) {
  const out: Record<string, { type: 'string' | 'boolean'; short?: string }> = {}
  for (const [k, o] of Object.entries(opts)) out[k] = o.short ? { type: o.type, short: o.short } : { type: o.type }
  return out
}

/** node:util's messages, shortened to one line that names the option. */
function describe(err: Error & { code?: string }): string {
  const name = /'(-[^']*?)(?: <value>)?'/.exec(err.message)?.[1] ?? ''
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${name}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return err.message.includes('does not take an argument') ? `${name.split(' ')[0]} takes no value` : `${name.split(/[ ,]/)[0]} needs a value`
    default:
      return err.message.split('\n')[0]
  }
}

/** A whole number option (`--limit 5`), undefined when absent. */
export function intOpt(values: Values, name: string, min = 0): number | undefined {
  const v = values[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be a whole number${min > 0 ? ` ≥ ${min}` : ''}`)
  return Number(v)
}

/** A number of seconds (`--timeout 1.5`), undefined when absent. */
export function secondsOpt(values: Values, name: string): number | undefined {
  const v = values[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || !/^\d+(\.\d+)?$/.test(v)) throw new UsageError(`--${name} must be a number of seconds`)
  return Number(v)
}

export const str = (values: Values, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined)
export const bool = (values: Values, name: string): boolean => values[name] === true
