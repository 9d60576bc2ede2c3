/** The one table of actions (domain actions plus help), looked up by name or alias and invoked with validation. */
import { Type } from 'typebox'
import { errors } from '../errors.ts'
import type { Result, RoomService } from '../rooms/service.ts'
import { defineAction, validateParams, type ActionDef, type CallContext } from './define.ts'
import { documentation, docsText } from './docs.ts'
import { LEASE_ACTIONS } from './leases.ts'
import { MESSAGE_ACTIONS, ROOM_ACTIONS } from './table.ts'

const DOMAIN: readonly ActionDef[] = [...ROOM_ACTIONS, ...MESSAGE_ACTIONS, ...LEASE_ACTIONS] as unknown as ActionDef[]

const help = defineAction({
  name: 'help',
  alias: 'help',
  tool: null,
  title: 'Documentation',
  description: 'Full documentation: every action with its parameters.',
  params: Type.Object({}),
  result: Type.Object({ documentation: Type.Array(Type.Any()) }),
  a2a: {},
  mcp: {},
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run: async () => ({ text: docsText(ACTIONS), data: { documentation: documentation(ACTIONS) } }),
})

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
