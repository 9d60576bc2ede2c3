// The CLI's agentTokens, one per server + room + agent, in a JSON file only its owner may read (0600).
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import path from 'node:path'
import { UsageError } from './args.ts'

export interface Credential {
  server: string
  roomId: string
  /** The room's name (as the server spells it), so `--room <name>` finds it. */
  roomName: string
  agent: string
  token: string
  savedAt: string
}

/** `$XDG_CONFIG_HOME/convene/credentials.json`, else `~/.config/convene/credentials.json`. */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homedir(), '.config')
  return path.join(base, 'convene', 'credentials.json')
}

/** A room reference as the store compares it: a UUID in lower case, or a name without its `:password`. */
function refKey(ref: string): { id?: string; name?: string } {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref)) return { id: ref.toLowerCase() }
  return { name: ref.split(':')[0].toLowerCase() }
}

export class Credentials {
  constructor(readonly file: string = credentialsFile()) {}

  list(): Credential[] {
    let text: string
    try {
      text = readFileSync(this.file, 'utf8')
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return []
      throw new Error(`cannot read ${this.file}: ${(err as Error).message}`)
    }
    try {
      const parsed = JSON.parse(text) as { credentials?: Credential[] }
      return Array.isArray(parsed.credentials) ? parsed.credentials : []
    } catch {
      throw new Error(`${this.file} is not valid JSON; fix or delete it`)
    }
  }

  /** Stores (or replaces) the token of this server + room + agent. */
  save(c: Omit<Credential, 'savedAt'>): void {
    const rest = this.list().filter((x) => !(x.server === c.server && x.roomId === c.roomId && x.agent === c.agent))
    this.write([...rest, { ...c, savedAt: new Date().toISOString() }])
  }

  remove(c: Pick<Credential, 'server' | 'roomId' | 'agent'>): void {
    this.write(this.list().filter((x) => !(x.server === c.server && x.roomId === c.roomId && x.agent === c.agent)))
  }

  /** Stored tokens on `server` matching the room reference and agent name (either may be absent). */
  matching(server: string, room?: string, agent?: string): Credential[] {
    const key = room ? refKey(room) : {}
    return this.list().filter(
      (c) =>
        c.server === server &&
        (key.id === undefined || c.roomId === key.id) &&
        (key.name === undefined || c.roomName.toLowerCase() === key.name) &&
        (agent === undefined || c.agent === agent),
    )
  }

  /** The one stored token these say which to use; a usage error says how to pick when none or several match. */
  pick(server: string, room?: string, agent?: string): Credential {
    const found = this.matching(server, room, agent)
    if (found.length === 1) return found[0]
    const who = agent ? ` as ${agent}` : ''
    if (found.length === 0) {
      if (!room) throw new UsageError(`--room is required (no room joined${who} on ${server})`)
      throw new NotJoined(`not joined to ${room}${who} on ${server}: run convene room join ${room} --as NAME first`)
    }
    const rooms = new Set(found.map((c) => c.roomId))
    if (rooms.size > 1) {
      const list = found.map((c) => `${c.roomName} as ${c.agent}`).join(', ')
      throw new UsageError(room ? `several rooms named ${room} are stored (${list}): use the room's UUID` : `pick a room with --room (stored: ${list})`)
    }
    throw new UsageError(`pick an agent with --as (stored in ${found[0].roomName}: ${found.map((c) => c.agent).join(', ')})`)
  }

  private write(list: Credential[]): void {
    const dir = path.dirname(this.file)
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const tmp = `${this.file}.${process.pid}.tmp`
    writeFileSync(tmp, `${JSON.stringify({ credentials: list }, null, 2)}\n`, { mode: 0o600 })
    chmodSync(tmp, 0o600)
    renameSync(tmp, this.file)
  }
}

/** No token stored for that room (exit 1: the line was right, the state is not). */
export class NotJoined extends Error {}
