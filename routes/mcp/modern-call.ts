/** A 2026-07-28 tool call: no session, the agentToken comes with the call (argument, else the Bearer header). */
import { validateParams } from '../../lib/actions/index.ts'
import { ActionError } from '../../lib/errors.ts'
import type { RoomService } from '../../lib/rooms/service.ts'
import { drainsItself, failure, runAction, toolResult, unreadFor } from './call.ts'
import { acceptsTasks, createTaskResult } from './tasks.ts'
import { TASK_TOOLS, type McpTool } from './tools.ts'

export interface ModernCaller {
  /** The Bearer token of the HTTP request, if any. */
  bearer: string | null
  /** The request's `_meta` envelope (protocol version, client info and capabilities). */
  envelope?: Record<string, unknown>
  signal: AbortSignal
  address?: string
}

export const NO_TOKEN =
  'this tool needs your agentToken: call createRoom or joinRoom, then pass the agentToken they return as the `agentToken` argument (or as an `Authorization: Bearer <agentToken>` header)'

export async function callModernTool(service: RoomService, tool: McpTool, args: Record<string, unknown>, caller: ModernCaller) {
  const { def } = tool
  const raw: Record<string, unknown> = { ...args }
  const token = typeof raw.agentToken === 'string' && raw.agentToken !== '' ? raw.agentToken : caller.bearer
  if (def.mcp.session) {
    if (token === null) return failure(NO_TOKEN)
    raw.agentToken = token
  }
  try {
    // The agent behind the token, looked up only where the action does not do it for us: for the room a tool
    // defaults to, and for the unread messages it piggy-backs (send and join hand theirs over themselves).
    const needed = (def.mcp.session && !drainsItself(tool)) || (def.mcp.roomDefault && raw.roomId === undefined)
    const authed = token !== null && needed ? await service.authenticate(token) : null
    if (def.mcp.roomDefault && raw.roomId === undefined && authed) raw.roomId = authed.room.id
    if (TASK_TOOLS.has(def.name) && acceptsTasks(caller.envelope)) {
      const p = validateParams(def, raw) as { agentToken: string; timeout?: number }
      return createTaskResult(await service.startWaitTask(p))
    }
    const outcome = await runAction(service, tool, raw, { signal: caller.signal, caller: caller.address })
    if (outcome instanceof ActionError) return failure(outcome.message)
    const agent = authed && !def.mcp.bind ? { id: authed.agent.id, roomId: authed.room.id } : null
    return toolResult(outcome, await unreadFor(service, tool, outcome, agent, caller.signal))
  } catch (err) {
    if (err instanceof ActionError) return failure(err.message)
    throw err
  }
}


