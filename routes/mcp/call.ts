/** One MCP tool call: session token and room filled in, the action run, unread messages and bindings handled. */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js'
import { invokeAction } from '../../lib/actions/index.ts'
import { ActionError, errors } from '../../lib/errors.ts'
import type { WireMessage } from '../../lib/rooms/wire.ts'
import type { McpHost } from './host.ts'
import type { McpSession } from './session.ts'
import { unreadText, type McpTool } from './tools.ts'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** Actions that already drain the agent's unread messages (into `messages` or `missedMessages`; `peek` must not consume). */
const DRAINS = new Set(['message.unread', 'message.wait', 'message.send', 'room.join'])

const failure = (message: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text: `Error: ${message}` }] })

/** Runs one tool call for a session: the action validates the arguments (one wording with A2A) and runs. */
export async function callTool(
  host: McpHost,
  session: McpSession,
  tool: McpTool,
  args: Record<string, unknown>,
  extra: Extra,
): Promise<CallToolResult> {
  // Room events buffered for a session without a GET stream ride this response, ahead of the result.
  for (const n of session.takeBuffered()) await extra.sendNotification(n)

  const { def } = tool
  const raw: Record<string, unknown> = { ...args }
  if (def.mcp.session) {
    if (!session.joined) return failure(errors.notJoined().message)
    raw.agentToken = session.state.agentToken
  }
  if (def.mcp.roomDefault && raw.roomId === undefined && session.state.roomId) raw.roomId = session.state.roomId

  const signal = AbortSignal.any([extra.signal, session.abort.signal])
  let result: Awaited<ReturnType<typeof invokeAction>>
  try {
    result = await invokeAction(host.service, def.name, raw, { signal, caller: host.addressOf(session) })
  } catch (err) {
    if (!(err instanceof ActionError)) throw err
    // The session's agent is gone (left elsewhere, kicked, room expired): forget it.
    if (err.code === 'INVALID_TOKEN' && def.mcp.session) await host.unbind(session)
    return failure(err.message)
  }

  if (def.mcp.bind && typeof result.data.agentToken === 'string') await host.bind(session, result.data.agentToken)
  if (def.name === 'room.leave') await host.unbind(session)

  let unread: WireMessage[] = []
  if (Array.isArray(result.data.missedMessages)) {
    // send/join already drained the agent's unread messages into missedMessages: the same list, no second read
    unread = result.data.missedMessages as WireMessage[]
  } else if (session.joined && !DRAINS.has(def.name)) {
    unread = await host.service.drainUnread({ id: session.state.agentId!, roomId: session.state.roomId! }, undefined, true, signal)
  }
  const content: CallToolResult['content'] = [{ type: 'text', text: `${result.text}\n${JSON.stringify(result.data)}` }]
  if (unread.length > 0) content.push({ type: 'text', text: unreadText(unread) })
  return { content, structuredContent: { ...result.data, unread } }
}
