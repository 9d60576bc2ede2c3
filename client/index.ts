/**
 * The typed Convene client (`convene/client`): every action of the server's table as a method, `follow()` over
 * the SSE stream with resume, `wait()`, and git URLs. Needs only `fetch` (Node 20+, browsers, Deno, Bun).
 */
import { callAction, ConveneError, type Reply, type Transport } from './rpc.ts'
import { follow, type FollowOptions } from './sse.ts'
import type { ActionMethods, ActionName, ActionResult, CallOptions, CallParams, Message } from './types.ts'

export { ConveneError, type Reply } from './rpc.ts'
export { sseEvents, type FollowOptions, type SseEvent } from './sse.ts'
export type * from './types.ts'

export interface ClientOptions {
  /** The server's origin, e.g. `http://127.0.0.1:3000` (the default). */
  server?: string
  /** The agentToken every action that takes one gets, unless the call passes its own. */
  token?: string
  /** The room (UUID, name or name:password) actions that take a `roomId` get, and that `follow()` reads. */
  roomId?: string
  /** The agent's name: the user name of `gitUrl()`'s credentials. */
  agentName?: string
  /** Extra headers on every request. */
  headers?: Record<string, string>
  fetch?: typeof fetch
}

/** What room.create and room.join return: enough to act as that agent. */
export interface Joined {
  roomId: string
  agentName: string
  agentToken: string
}

export interface WaitOptions {
  /** Seconds to wait in all (default 30); longer waits are made of several server waits of at most 60 s. */
  timeout?: number
  mentionsOnly?: boolean
  signal?: AbortSignal
}

export class ConveneClient {
  readonly server: string
  readonly token?: string
  readonly roomId?: string
  readonly agentName?: string
  readonly #options: ClientOptions
  readonly #transport: Transport

  constructor(options: ClientOptions = {}) {
    this.#options = options
    this.server = (options.server ?? 'http://127.0.0.1:3000').replace(/\/+$/, '')
    this.token = options.token
    this.roomId = options.roomId
    this.agentName = options.agentName
    this.#transport = { server: this.server, fetch: options.fetch ?? globalThis.fetch, headers: options.headers ?? {} }
  }

  /** Calls an action by name, typed; the client's token and room fill `agentToken` and `roomId` when absent. */
  async call<N extends ActionName>(action: N, params?: CallParams<N>, options: CallOptions = {}): Promise<ActionResult<N>> {
    return (await this.raw(action, (params ?? {}) as Record<string, unknown>, options)).data as ActionResult<N>
  }

  /** Calls any action by name or alias (untyped): the reply's text, data and room. */
  raw(action: string, params: Record<string, unknown> = {}, options: CallOptions = {}): Promise<Reply> {
    const full: Record<string, unknown> = { ...params }
    if (full.agentToken === undefined && this.token !== undefined) full.agentToken = this.token
    if (full.roomId === undefined && this.roomId !== undefined) full.roomId = this.roomId
    return callAction(this.#transport, action, full, options.signal)
  }

  /** The same client with some options changed. */
  with(options: Partial<ClientOptions>): Convene {
    return createClient({ ...this.#options, server: this.server, ...options })
  }

  /** The same server, acting as the agent a room.create or room.join returned. */
  as(joined: Joined): Convene {
    return this.with({ token: joined.agentToken, roomId: joined.roomId, agentName: joined.agentName })
  }

  /** The room's messages as they arrive (see FollowOptions); resumes after drops with Last-Event-ID. */
  follow(options: FollowOptions & { roomId?: string } = {}): AsyncGenerator<Message> {
    const room = options.roomId ?? this.roomId
    if (!room || !this.token) throw new ConveneError('MISSING_PARAMETER', 'follow() needs the client’s token and room')
    return follow(this.#transport, room, this.token, options)
  }

  /** Waits until something is unread (then marks it read) or `timeout` seconds pass: message.wait, repeated past 60 s. */
  async wait(options: WaitOptions = {}): Promise<ActionResult<'message.wait'>> {
    const deadline = Date.now() + (options.timeout ?? 30) * 1000
    for (;;) {
      const left = Math.max(0, (deadline - Date.now()) / 1000)
      const chunk = Math.min(60, left)
      const r = await this.call('message.wait', { timeout: chunk, mentionsOnly: options.mentionsOnly }, { signal: options.signal })
      if (r.messages.length > 0 || left <= 60 || options.signal?.aborted) return r
    }
  }

  /** The room's git URL; with credentials (default when the client has a token and name) pushes count as that agent. */
  gitUrl(options: { roomId?: string; credentials?: boolean } = {}): string {
    const room = options.roomId ?? this.roomId
    if (!room) throw new ConveneError('MISSING_PARAMETER', 'gitUrl() needs a room')
    const url = new URL(this.server)
    url.pathname = `${url.pathname.replace(/\/$/, '')}/rooms/${encodeURIComponent(room)}.git`
    if ((options.credentials ?? true) && this.token && this.agentName) {
      url.username = this.agentName
      url.password = this.token
    }
    return url.href
  }
}

/** A client: its own methods plus one per action (`client.room.create(…)`, `client.message.send(…)`, `client.help()`). */
export type Convene = ConveneClient & ActionMethods

// The client's own members must never hide an action group: this fails to compile if a new group takes one's name.
const noClash: [Extract<keyof ConveneClient, keyof ActionMethods>] extends [never] ? true : false = true
void noClash

/** Property names that must never become actions: promise and inspection probes. */
const NOT_ACTIONS = new Set(['then', 'catch', 'finally', 'toJSON', 'constructor', 'inspect'])

/**
 * Methods are made on first use from their names, so every action of the server's table is there, typed from
 * that same table (client/types.ts): `client.<group>.<verb>` calls `<group>.<verb>`, `client.<name>()` calls `<name>`.
 */
export function createClient(options: ClientOptions = {}): Convene {
  const client = new ConveneClient(options)
  const made = new Map<string, unknown>()
  const method = (name: string): unknown => {
    let m = made.get(name)
    if (!m) {
      const call = (params?: Record<string, unknown>, opts?: CallOptions) => client.call(name as ActionName, params as never, opts)
      m = new Proxy(call, {
        get: (target, verb, receiver) =>
          typeof verb === 'string' && !NOT_ACTIONS.has(verb) ? method(`${name}.${verb}`) : Reflect.get(target, verb, receiver),
      })
      made.set(name, m)
    }
    return m
  }
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (typeof prop !== 'string' || prop in target || NOT_ACTIONS.has(prop)) {
        const v = Reflect.get(target, prop, receiver)
        return typeof v === 'function' ? v.bind(target) : v
      }
      return method(prop)
    },
  }) as Convene
}
