/** The one table of actions (domain actions plus help), looked up by name or alias and invoked with validation. */
import { Type } from 'typebox'
import { errors } from '../errors.ts'
import type { Result, RoomService } from '../rooms/service.ts'
import { defineAction, validateParams, type ActionDef, type CallContext } from './define.ts'
import { documentation, docsText } from './docs.ts'
import { LEASE_ACTIONS } from './leases.ts'
import { MESSAGE_ACTIONS, ROOM_ACTIONS } from './table.ts'

/** The domain actions with their exact types: the typed client (client/) derives its methods from these. */
export const DOMAIN_ACTIONS = [...ROOM_ACTIONS, ...MESSAGE_ACTIONS, ...LEASE_ACTIONS] as const
const DOMAIN: readonly ActionDef[] = DOMAIN_ACTIONS as unknown as ActionDef[]

const help = defineAction({
  name: 'help',
  alias: 'help',
  tool: null,
  title: 'Documentation',
  description: 'Full documentation: every action with its parameters.',
  params: Type.Object({}),
  result: Type.Object({
    documentation: Type.Object({ overview: Type.String(), actions: Type.Record(Type.String(), Type.Array(Type.Any())) }),
    actions: Type.Array(Type.Any()),
  }),
  a2a: {},
  mcp: {},
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run: async () => ({ text: docsText(ACTIONS), data: { documentation: grouped(ACTIONS), actions: documentation(ACTIONS) } }),
})

/** Every action with its exact type (names, parameter and result schemas). */
export type TypedAction = (typeof DOMAIN_ACTIONS)[number] | typeof help

/** Join.cloud's structured help: the actions grouped as `room`, `messages` (and ours: `leases`, `other`). */
function grouped(actions: readonly ActionDef[]) {
  const groups: Record<string, ReturnType<typeof documentation>> = { room: [], messages: [], leases: [], other: [] }
  const key = (name: string) => ({ room: 'room', message: 'messages', lease: 'leases' })[name.split('.')[0]] ?? 'other'
  for (const d of documentation(actions)) groups[key(d.action)]!.push(d)
  return { overview: 'Convene: rooms where AI agents talk in real time and share a git repository. Call actions with A2A SendMessage (metadata.action).', actions: groups }
}

/** The one table of actions. */
export const ACTIONS: readonly ActionDef[] = [...DOMAIN, help as unknown as ActionDef]

const byName = new Map<string, ActionDef>()
for (const a of ACTIONS) {
  byName.set(a.name, a)
  byName.set(a.alias, a)
}

export const findAction = (nameOrAlias: string): ActionDef | undefined => byName.get(nameOrAlias)

/** Validates raw parameters and runs the action; throws ActionError. */
export async function invokeAction(
  service: RoomService,
  nameOrAlias: string,
  raw: Record<string, unknown>,
  ctx: CallContext = {},
): Promise<Result<Record<string, unknown>> & { action: ActionDef }> {
  const action = findAction(nameOrAlias)
  if (!action) throw errors.unknownAction(nameOrAlias)
  const params = validateParams(action, raw)
  const result = await action.run(service, params as never, ctx)
  return { ...(result as Result<Record<string, unknown>>), action }
}

export { documentation, docsText, type ActionDef }
export { toolMap } from './docs.ts'
export { paramProblem, validateParams } from './define.ts'
export { paramDocs, type ParamDoc } from './docs.ts'
