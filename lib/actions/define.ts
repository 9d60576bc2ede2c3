/** The shape of an action (parameters, result, per-surface hints) and the one validator of its parameters. */
import type { Static, TObject, TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import Value from 'typebox/value'
import { errors, type ActionError } from '../errors.ts'
import type { Result, RoomService } from '../rooms/service.ts'

export interface ToolAnnotations {
  readOnlyHint: boolean
  destructiveHint: boolean
  idempotentHint: boolean
  openWorldHint: boolean
}

/** One action, declared once: every surface, the docs and the agent card are generated from these. */
export interface ActionDef<P extends TObject = TObject, R extends TObject = TObject> {
  /** A2A action name, e.g. `room.create`. */
  name: string
  /** Short A2A alias, e.g. `create`. */
  alias: string
  /** MCP tool name, or null where MCP has something else (help → server instructions). */
  tool: string | null
  title: string
  description: string
  params: P
  result: R
  /** A2A: which parameter `message.contextId` fills, and which one `parts[0].text` fills. */
  a2a: { context?: keyof Static<P> & string; text?: keyof Static<P> & string }
  /**
   * MCP: `session` — agentToken comes from the session, not the tool's arguments; `bind` — the result's
   * agentToken is remembered by the session; `roomDefault` — roomId defaults to the session's room.
   */
  mcp: { session?: boolean; bind?: boolean; roomDefault?: boolean }
  annotations: ToolAnnotations
  run(service: RoomService, params: Static<P>, ctx: CallContext): Promise<Result<Static<R>>>
}

/** Who is calling and how to stop: passed from the surface to the action. */
export interface CallContext {
  signal?: AbortSignal
  /** A stable key for the client (its IP), for per-client quotas. */
  caller?: string
}

/** Tool hints (MCP annotations); none of our actions reaches beyond the server. */
export const hints = (readOnly: boolean, destructive: boolean, idempotent: boolean): ToolAnnotations => ({
  readOnlyHint: readOnly,
  destructiveHint: destructive,
  idempotentHint: idempotent,
  openWorldHint: false,
})
export const READ = hints(true, false, true)
export const WRITE = hints(false, false, false)

/** Keeps the name's literal type, so typed clients (client/) can derive one method per action. */
export const defineAction = <P extends TObject, R extends TObject, const N extends string = string>(
  def: ActionDef<P, R> & { name: N },
): ActionDef<P, R> & { name: N } => def

const compiled = new WeakMap<TSchema, ReturnType<typeof Compile>>()
const compile = (schema: TSchema) => {
  let c = compiled.get(schema)
  if (!c) compiled.set(schema, (c = Compile(schema)))
  return c
}

const defaultsOf = new WeakMap<TObject, [string, unknown][] | null>()
/** The schema's parameter defaults when all are primitives on its own properties (else null: Value.Default's job). */
function topDefaults(schema: TObject): [string, unknown][] | null {
  let d = defaultsOf.get(schema)
  if (d !== undefined) return d
  d = []
  for (const [key, prop] of Object.entries(schema.properties as Record<string, Record<string, unknown>>)) {
    const { default: v, ...rest } = prop
    if (JSON.stringify(rest).includes('"default"') || (v !== null && typeof v === 'object')) d = null
    else if (v !== undefined && d) d.push([key, v])
    if (!d) break
  }
  defaultsOf.set(schema, d)
  return d
}

/** Coerces, defaults and checks raw parameters; a failure names the parameter. */
export function validateParams<P extends TObject>(def: ActionDef<P, TObject>, raw: Record<string, unknown>): Static<P> {
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(def.params.properties)) {
    const v = Object.hasOwn(raw, key) ? raw[key] : undefined
    // Empty values mean "not given": the reference's clients send "" for absent fields.
    if (v !== undefined && v !== null && v !== '') input[key] = v
    // PostgreSQL text cannot hold NUL: refuse it here rather than fail in the store.
    if (typeof v === 'string' && v.includes('\u0000')) throw errors.invalid(key, 'must not contain NUL characters')
  }
  // Parameters that already fit need no conversion: their defaults alone (Convert and Default walk the schema).
  const defaults = topDefaults(def.params)
  if (defaults) {
    const filled = { ...input }
    for (const [key, v] of defaults) if (!(key in filled)) filled[key] = v
    if (compile(def.params).Check(filled)) return filled as Static<P>
  }
  const value = Value.Default(def.params, Value.Convert(def.params, input)) as Record<string, unknown>
  const problem = paramProblem(def.params, value)
  if (problem) throw problem
  return value as Static<P>
}

/**
 * The first parameter of `value` that does not fit the object schema, worded as every surface words it
 * (`text is required`, `limit must be an integer from 1 to 100`); null when all fit.
 */
export function paramProblem(schema: TObject, value: Record<string, unknown>): ActionError | null {
  for (const key of (schema.required ?? []) as string[]) if (!(key in value)) return errors.missing(key)
  const check = compile(schema)
  if (check.Check(value)) return null
  const all = [...check.Errors(value)]
  const first = all.find((e) => e.instancePath) ?? all[0]
  const param = first?.instancePath.split('/')[1] ?? 'params'
  return errors.invalid(param, describe(schema.properties?.[param] as TSchema | undefined))
}

function describe(schema: TSchema | undefined): string {
  const s = (schema ?? {}) as Record<string, unknown>
  if (Array.isArray(s.enum)) return `must be one of ${s.enum.join(', ')}`
  if (s.type === 'integer' || s.type === 'number') {
    const kind = s.type === 'integer' ? 'an integer' : 'a number'
    if (s.minimum !== undefined && s.maximum !== undefined) return `must be ${kind} from ${s.minimum} to ${s.maximum}`
    if (s.minimum !== undefined) return `must be ${kind} ≥ ${s.minimum}`
    return `must be ${kind}`
  }
  if (s.type === 'boolean') return 'must be true or false'
  if (s.type === 'array') return `must be a list of ${s.minItems ?? 0} to ${s.maxItems ?? 'any number of'} ${(s.items as { type?: string })?.type ?? 'item'}s`
  if (s.type === 'string') {
    if (s.maxLength !== undefined) return `must be a string of ${s.minLength ?? 0} to ${s.maxLength} characters`
    return 'must be a non-empty string'
  }
  return 'is invalid'
}
