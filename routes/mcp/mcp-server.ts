/** The SDK server of one MCP 2025-11-25 session: tools from the action table, logging level kept in the session. */
import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server'
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
  server.setRequestHandler('tools/list', async () => ({ tools: TOOL_LIST }))
  server.setRequestHandler('tools/call', async (req, ctx) => {
    const tool = toolByName.get(req.params.name)
    if (!tool) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${req.params.name}`)
    return callTool(host, session, tool, req.params.arguments ?? {}, ctx)
  })
  // Replaces the SDK's in-memory level map: the level is part of the persisted session.
  server.setRequestHandler('logging/setLevel', async (req) => {
    await host.setLevel(session, req.params.level)
    return {}
  })
  return server
}
