/** The MCP tool list, generated from the action table: published input/output schemas and the unread block. */
import type { Tool } from '@modelcontextprotocol/sdk/types.js'
import { ACTIONS, type ActionDef } from '../../lib/actions/index.ts'
import { Messages } from '../../lib/actions/schemas.ts'
import type { WireMessage } from '../../lib/rooms/wire.ts'

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] }

/** Parameters that exist for A2A only (push endpoints make no sense for an MCP client). */
const A2A_ONLY = new Set(['agentEndpoint'])

export interface McpTool {
  def: ActionDef
  tool: Tool
}

const plain = (schema: unknown): JsonSchema => JSON.parse(JSON.stringify(schema)) as JsonSchema

/**
 * The action's parameters as the tool publishes them: no session-held agentToken, roomId optional where it defaults.
 * Arguments are not checked against it here: the action validates them, so MCP and A2A word a mistake alike.
 */
function inputSchema(def: ActionDef): JsonSchema {
  const s = plain(def.params)
  const drop = new Set(A2A_ONLY)
  if (def.mcp.session) drop.add('agentToken')
  for (const name of drop) delete s.properties?.[name]
  const optional = new Set(drop)
  if (def.mcp.roomDefault) optional.add('roomId')
  s.required = (s.required ?? []).filter((r) => !optional.has(r))
  if (s.required.length === 0) delete s.required
  if (def.mcp.roomDefault && s.properties?.roomId) {
    const room = s.properties.roomId as JsonSchema
    s.properties.roomId = { ...room, description: `${String(room.description ?? '')}. Defaults to the room you joined` }
  }
  return s
}

/** The action's result plus the unread messages every tool result carries. */
function outputSchema(def: ActionDef): JsonSchema {
  const s = plain(def.result)
  s.properties = {
    ...s.properties,
    unread: { ...plain(Messages), description: 'New messages since your last call (you have now seen them)' },
  }
  return s
}

function build(def: ActionDef): McpTool {
  return {
    def,
    tool: {
      name: def.tool!,
      title: def.title,
      description: def.description,
      inputSchema: inputSchema(def) as Tool['inputSchema'],
      outputSchema: outputSchema(def) as Tool['outputSchema'],
      annotations: { title: def.title, ...def.annotations },
    },
  }
}

const TOOLS: readonly McpTool[] = ACTIONS.filter((a) => a.tool !== null).map(build)
export const TOOL_LIST: Tool[] = TOOLS.map((t) => t.tool)
export const toolByName = new Map(TOOLS.map((t) => [t.tool.name, t]))

/** The "New messages:" block: one short line per message. */
export function unreadText(messages: WireMessage[]): string {
  const lines = messages.map((m) => `- [#${m.seq}] ${m.from}${m.to ? ` → ${m.to} (direct)` : ''}: ${m.body}`)
  return `New messages:\n${lines.join('\n')}`
}
