/** The MCP tool list, generated from the action table: published input/output schemas and the unread block. */
import type { Tool } from '@modelcontextprotocol/server'
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

/** Which MCP revision a list is for: 2025-11-25 sessions hold the agentToken; 2026-07-28 calls pass it. */
export type Era = 'legacy' | 'modern'


const plain = (schema: unknown): JsonSchema => JSON.parse(JSON.stringify(schema)) as JsonSchema

/**
 * The action's parameters as the tool publishes them: no session-held agentToken, roomId optional where it defaults.
 * Arguments are not checked against it here: the action validates them, so MCP and A2A word a mistake alike.
 */
function inputSchema(def: ActionDef, era: Era): JsonSchema {
  const s = plain(def.params)
  const drop = new Set(A2A_ONLY)
  if (def.mcp.session && era === 'legacy') drop.add('agentToken')
  // the instructions say where the token comes from, once rather than on every tool
  if (era === 'modern' && s.properties?.agentToken) s.properties.agentToken = { type: 'string', minLength: 1 }
  for (const name of drop) delete s.properties?.[name]
  const optional = new Set(drop)
  if (def.mcp.roomDefault) optional.add('roomId')
  s.required = (s.required ?? []).filter((r) => !optional.has(r))
  if (s.required.length === 0) delete s.required
  if (def.mcp.roomDefault && s.properties?.roomId) {
    const room = s.properties.roomId as JsonSchema
    const joined = era === 'legacy' ? 'the room you joined' : 'your room'
    s.properties.roomId = { ...room, description: `${String(room.description ?? '')}; default: ${joined}` }
  }
  return s
}

/** messageHistory spells a message's shape out; the other tools' messages refer to it (MCP context is a cost). */
const SHAPED_BY = 'message.history'
const MESSAGE = JSON.stringify(Messages.items)
const SEE_HISTORY = { type: 'object', description: 'A message, shaped as in messageHistory' }

const compact = (schema: unknown): unknown => {
  if (Array.isArray(schema)) return schema.map(compact)
  if (schema === null || typeof schema !== 'object') return schema
  if (JSON.stringify(schema) === MESSAGE) return SEE_HISTORY
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, compact(v)]))
}

/**
 * The action's result. Every structuredContent also holds `unread` (your new messages): the instructions say so
 * once, rather than every tool's schema (MCP context is a cost); the schemas leave extra properties allowed.
 */
const outputSchema = (def: ActionDef): JsonSchema => plain(def.name === SHAPED_BY ? def.result : compact(plain(def.result)))

/** Tools whose call a 2026-07-28 client with the Tasks extension may get back as a task. */
export const TASK_TOOLS = new Set(['message.wait'])

function build(def: ActionDef, era: Era): McpTool {
  return {
    def,
    tool: {
      name: def.tool!,
      title: def.title,
      description: def.description,
      ...(era === 'modern' && TASK_TOOLS.has(def.name) ? { execution: { taskSupport: 'optional' as const } } : {}),
      inputSchema: inputSchema(def, era) as Tool['inputSchema'],
      outputSchema: outputSchema(def) as Tool['outputSchema'],
      annotations: hints(def),
    },
  }
}

/** The action's hints, leaving out those that say what MCP assumes when a hint is absent (MCP context is a cost). */
function hints(def: ActionDef): Tool['annotations'] {
  const { readOnlyHint, idempotentHint, ...rest } = def.annotations
  return { ...rest, ...(readOnlyHint ? { readOnlyHint } : {}), ...(idempotentHint ? { idempotentHint } : {}) }
}

const tools = (era: Era): readonly McpTool[] => ACTIONS.filter((a) => a.tool !== null).map((def) => build(def, era))
const LEGACY = tools('legacy')
const MODERN = tools('modern')
export const TOOL_LIST: Tool[] = LEGACY.map((t) => t.tool)
export const toolByName = new Map(LEGACY.map((t) => [t.tool.name, t]))
export const MODERN_TOOL_LIST: Tool[] = MODERN.map((t) => t.tool)
export const modernToolByName = new Map(MODERN.map((t) => [t.tool.name, t]))

/** The "New messages:" block: one short line per message. */
export function unreadText(messages: WireMessage[]): string {
  const lines = messages.map(
    (m) => `- [#${m.seq}] ${m.from}${m.kind ? ` (${m.kind})` : ''}${m.to ? ` → ${m.to} (direct)` : ''}${m.ackRequired ? ` (asks for ackMessages, id ${m.id})` : ''}: ${m.body}`,
  )
  return `New messages:\n${lines.join('\n')}`
}
