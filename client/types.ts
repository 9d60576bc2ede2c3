/** The typed client's types, derived from the action table's TypeBox schemas (type-only: no lib/ code is loaded at run time). */
import type { Static } from 'typebox'
import type { TypedAction } from '../lib/actions/index.ts'
import type { ErrorCode } from '../lib/errors.ts'

/** Every action of the server's table, e.g. `room.create`, `message.send`, `help`. */
export type ActionName = TypedAction['name']
type Def<N extends ActionName> = Extract<TypedAction, { name: N }>
type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** An action's parameters, exactly as the table declares them. */
export type ActionParams<N extends ActionName> = Static<Def<N>['params']>
/** An action's result (the reply's data part). */
export type ActionResult<N extends ActionName> = Static<Def<N>['result']>

/** Parameters the client fills in itself when it holds them: the agentToken and the room. */
type Filled = 'agentToken' | 'roomId'
/** What a method takes: the table's parameters, with agentToken and roomId optional (the client's own are used). */
export type CallParams<N extends ActionName> = Simplify<
  Omit<ActionParams<N>, Filled> & Partial<Pick<ActionParams<N>, Extract<keyof ActionParams<N>, Filled>>>
>

export interface CallOptions {
  signal?: AbortSignal
}

/** One action as a method; the parameter object is optional when nothing in it is required. */
export type ActionMethod<N extends ActionName> = {} extends CallParams<N>
  ? (params?: CallParams<N>, options?: CallOptions) => Promise<ActionResult<N>>
  : (params: CallParams<N>, options?: CallOptions) => Promise<ActionResult<N>>

type Group<N> = N extends `${infer G}.${string}` ? G : never

/**
 * Every action as a method, named after it: `room.create` is `client.room.create(…)`, `message.send` is
 * `client.message.send(…)`, and a name without a dot (`help`) is `client.help()`.
 */
export type ActionMethods = {
  [G in Group<ActionName>]: { [N in ActionName as N extends `${G}.${infer V}` ? V : never]: ActionMethod<N> }
} & { [N in Exclude<ActionName, `${string}.${string}`>]: ActionMethod<N> }

/** A message as every surface shows it (history, unread, wait, the SSE stream). */
export type Message = ActionResult<'message.history'>['messages'][number]

/** Codes the client adds to the server's own (lib/errors.ts): the server could not be reached or did not answer as A2A. */
export type ClientErrorCode = 'NETWORK_ERROR' | 'HTTP_ERROR' | 'PROTOCOL_ERROR'
export type ConveneErrorCode = ErrorCode | ClientErrorCode
