/** One MCP tool call: session token and room filled in, the action run, unread messages and bindings handled. */
import type { CallToolResult, ServerContext } from '@modelcontextprotocol/server'
import { invokeAction } from '../../lib/actions/index.ts'
import { ActionError, errors } from '../../lib/errors.ts'
import type { RoomService } from '../../lib/rooms/service.ts'
import type { WireMessage } from '../../lib/rooms/wire.ts'
import type { McpHost } from './host.ts'
import type { McpSession } from './session.ts'
import { unreadText, type McpTool } from './tools.ts'

type Outcome = Awaited<ReturnType<typeof invokeAction>>

/** Actions that already drain the agent's unread messages (into `messages` or `missedMessages`; `peek` must not consume). */
const DRAINS = new Set(['message.unread', 'message.wait', 'message.send', 'room.join'])

/** Whether the action hands over the caller's unread messages itself (no piggy-back read after it). */
export const drainsItself = (tool: McpTool) => DRAINS.has(tool.def.name)

/**
 * A signal that aborts when either does. Not AbortSignal.any: on Node 20 its combined signal can be collected
 * while a wait still holds it, and then never aborts (a cancelled waitForMessages went on reading).
 */
function either(a: AbortSignal, b: AbortSignal) {
  const both = new AbortController()
  const abort = () => both.abort()
  if (a.aborted || b.aborted) both.abort()
  a.addEventListener('abort', abort, { once: true })
  b.addEventListener('abort', abort, { once: true })
  const release = () => {
    a.removeEventListener('abort', abort)
    b.removeEventListener('abort', abort)
  }
  return { signal: both.signal, release }
}

export const failure = (message: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text: `Error: ${message}` }] })

/** Runs the action; a caller's mistake comes back as the ActionError, anything else throws. */
export async function runAction(
  service: RoomService,
  tool: McpTool,
  raw: Record<string, unknown>,
  ctx: { signal: AbortSignal; caller?: string },
): Promise<Outcome | ActionError> {
  try {
    return await invokeAction(service, tool.def.name, raw, ctx)
  } catch (err) {
    if (err instanceof ActionError) return err
    throw err
  }
}

/**
 * The unread messages a result carries: what send/join caught up on, else (when the caller is an agent and the
 * action did not read them itself) a fresh drain.
 */
export async function unreadFor(
  service: RoomService,
  tool: McpTool,
  outcome: Outcome,
  agent: { id: string; roomId: string } | null,
  signal: AbortSignal,
): Promise<WireMessage[]> {
  if (Array.isArray(outcome.data.missedMessages)) return outcome.data.missedMessages as WireMessage[]
  if (agent === null || drainsItself(tool)) return []
  return service.drainUnread(agent, undefined, true, signal, 'mcp')
}

/** A tool result: the action's text and data, then the "New messages:" block. */
export function toolResult(outcome: { text: string; data: Record<string, unknown> }, unread: WireMessage[]): CallToolResult {
  const content: CallToolResult['content'] = [{ type: 'text', text: `${outcome.text}\n${JSON.stringify(outcome.data)}` }]
  if (unread.length > 0) content.push({ type: 'text', text: unreadText(unread) })
  return { content, structuredContent: { ...outcome.data, unread } }
}

/** Runs one tool call for a session: the action validates the arguments (one wording with A2A) and runs. */
export async function callTool(
  host: McpHost,
  session: McpSession,
  tool: McpTool,
  args: Record<string, unknown>,
  ctx: ServerContext,
): Promise<CallToolResult> {
  // Room events buffered for a session without a GET stream ride this response, ahead of the result.
  let buffered = 0
  for (const n of session.takeBuffered()) {
    await ctx.mcpReq.notify(n)
    buffered = Math.max(buffered, (n.params.data as { seq: number }).seq)
  }
  if (buffered > 0 && session.state.agentId) host.service.delivered(session.state.agentId, 'mcp', buffered)

  const { def } = tool
  const raw: Record<string, unknown> = { ...args }
  if (def.mcp.session) {
    if (!session.joined) return failure(errors.notJoined().message)
    raw.agentToken = session.state.agentToken
  }
  if (def.mcp.roomDefault && raw.roomId === undefined && session.state.roomId) raw.roomId = session.state.roomId

  const { signal, release } = either(ctx.mcpReq.signal, session.abort.signal)
  try {
    const outcome = await runAction(host.service, tool, raw, { signal, caller: host.addressOf(session) })
    if (outcome instanceof ActionError) {
      // The session's agent is gone (left elsewhere, kicked, room expired): forget it.
      if (outcome.code === 'INVALID_TOKEN' && def.mcp.session) await host.unbind(session)
      return failure(outcome.message)
    }

    if (def.mcp.bind && typeof outcome.data.agentToken === 'string') await host.bind(session, outcome.data.agentToken)
    if (def.name === 'room.leave') await host.unbind(session)

    const agent = session.joined ? { id: session.state.agentId!, roomId: session.state.roomId! } : null
    return toolResult(outcome, await unreadFor(host.service, tool, outcome, agent, signal))
  } finally {
    release()
  }
}
