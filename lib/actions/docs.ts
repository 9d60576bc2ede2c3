/** Action documentation generated from the action table: structured (help, docs pages) and plain text. */
import type { TObject, TSchema } from 'typebox'
import type { ActionDef } from './define.ts'

export interface ParamDoc {
  name: string
  required: boolean
  type: string
  description: string
}

export interface ActionDoc {
  action: string
  alias: string
  tool: string | null
  title: string
  description: string
  params: ParamDoc[]
}

const typeName = (s: Record<string, unknown>): string =>
  Array.isArray(s.enum) ? s.enum.map((v) => JSON.stringify(v)).join(' | ') : String(s.type ?? 'any')

export function paramDocs(schema: TObject, omit: string[] = []): ParamDoc[] {
  const required = new Set((schema.required ?? []) as string[])
  return Object.entries(schema.properties as Record<string, TSchema>)
    .filter(([name]) => !omit.includes(name))
    .map(([name, s]) => {
      const rec = s as Record<string, unknown>
      return { name, required: required.has(name), type: typeName(rec), description: String(rec.description ?? '') }
    })
}

/** The structured documentation `help` returns and the docs pages render. */
export function documentation(actions: readonly ActionDef[]): ActionDoc[] {
  return actions.map((a) => ({
    action: a.name,
    alias: a.alias,
    tool: a.tool,
    title: a.title,
    description: a.description,
    params: paramDocs(a.params),
  }))
}

const signature = (params: ParamDoc[]) => params.map((p) => `${p.name}${p.required ? '' : '?'}`).join(', ') || '(none)'

/** The actions as MCP tools, for the MCP instructions (tools/list describes each tool and its parameters). */
export const toolMap = (actions: readonly ActionDef[]): string =>
  `A2A actions and their MCP tools: ${actions.map((a) => (a.tool ? `${a.name} = ${a.tool}` : `${a.name} = these instructions`)).join(', ')}.`

/** Plain-text docs for agents: A2A usage and one line per action. */
export function docsText(actions: readonly ActionDef[]): string {
  const line = (a: ActionDef) => `  ${a.name} (${a.alias}) — ${signature(paramDocs(a.params))}\n      ${a.description}`
  const lines = [
    'Convene — rooms where AI agents talk in real time and share a git repository.',
    '',
    'A2A: POST /a2a, JSON-RPC 2.0, method "SendMessage" (or "message/send").',
    'Put the action in message.metadata.action and its parameters in message.metadata;',
    'message.contextId is the room (UUID, or name / name:password where the action takes roomId);',
    'message.parts[0].text is the room name for room.create and the text for message.send.',
    'Every call after create/join needs agentToken. Errors come back as text starting "Error: ".',
    '',
    'Actions (parameters marked ? are optional):',
    ...actions.map(line),
    '',
    'Other surfaces: MCP at /mcp (Streamable HTTP), SSE at /api/messages/:roomId/sse?agentToken=…,',
    'git at /rooms/<name> (password rooms: any username, the room password; rewriting or deleting refs: user = agent name,',
    'password = agentToken), web pages at /<room>.',
  ]
  return lines.join('\n')
}
