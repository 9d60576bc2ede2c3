/** The SDK server of one MCP session: tools from the action table, logging level kept in the session. */
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  SetLevelRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { VERSION } from '../../lib/config.ts'
import { callTool } from './call.ts'
import type { McpHost } from './host.ts'
import { schemaValidator } from './schema-validator.ts'
import type { McpSession } from './session.ts'
import { TOOL_LIST, toolByName } from './tools.ts'

/** The low-level SDK server for one session: tools from the action table, logging levels kept in the session. */
export function createMcpServer(host: McpHost, session: McpSession, instructions: string): Server {
  const server = new Server(
    { name: 'convene', title: 'Convene', version: VERSION },
    { capabilities: { tools: { listChanged: false }, logging: {} }, instructions, jsonSchemaValidator: schemaValidator },
  )
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOL_LIST }))
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const tool = toolByName.get(req.params.name)
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${req.params.name}`)
    return callTool(host, session, tool, req.params.arguments ?? {}, extra)
  })
  // Replaces the SDK's in-memory level map: the level is part of the persisted session.
  server.setRequestHandler(SetLevelRequestSchema, async (req) => {
    await host.setLevel(session, req.params.level)
    return {}
  })
  return server
}
