// What every command gets: its parsed line, the server, the output, stored tokens and clients built from them.
import { createClient, type Convene } from '../client/index.ts'
import { UsageError, str, type Opts, type Values } from './args.ts'
import { Credentials, type Credential } from './credentials.ts'
import type { Output } from './output.ts'

export interface Ctx {
  values: Values
  args: string[]
  server: string
  out: Output
  creds: Credentials
  env: NodeJS.ProcessEnv
  /** --room, else $CONVENE_ROOM. */
  room?: string
  /** --as, else $CONVENE_AS. */
  as?: string
  /** A client with no token. */
  anon(): Convene
  /** The stored agent --room and --as name (or the only one), and a client acting as it. */
  agent(): { client: Convene; cred: Credential }
  /** The agent used, once agent() ran (for error hints). */
  used?: Credential
}

export interface Command {
  /** `room join`, `send`. */
  name: string
  usage: string
  summary: string
  options: Opts
  run(ctx: Ctx): Promise<number | void>
}

/** The server URL from --server or $CONVENE_URL, without a trailing slash; a usage error when it is no http(s) URL. */
export function serverUrl(values: Values, env: NodeJS.ProcessEnv): string {
  const raw = str(values, 'server') ?? (env.CONVENE_URL || 'http://127.0.0.1:3000')
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UsageError(`--server must be an http(s) URL, not ${JSON.stringify(raw)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server must be an http(s) URL, not ${JSON.stringify(raw)}`)
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

export function makeContext(values: Values, args: string[], out: Output, env: NodeJS.ProcessEnv): Ctx {
  const server = serverUrl(values, env)
  const creds = new Credentials()
  const ctx: Ctx = {
    values,
    args,
    server,
    out,
    creds,
    env,
    room: str(values, 'room') ?? (env.CONVENE_ROOM || undefined),
    as: str(values, 'as') ?? (env.CONVENE_AS || undefined),
    anon: () => createClient({ server }),
    agent() {
      const cred = creds.pick(server, ctx.room, ctx.as)
      ctx.used = cred
      return { cred, client: createClient({ server, token: cred.token, roomId: cred.roomId, agentName: cred.agent }) }
    },
  }
  return ctx
}
