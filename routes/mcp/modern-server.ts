/** The SDK server for one 2026-07-28 request: tools from the action table, rooms as resources, wait tasks. */
import { ProtocolError, ProtocolErrorCode, Server, type McpRequestContext, type StandardSchemaV1 } from '@modelcontextprotocol/server'
import { VERSION } from '../../lib/config.ts'
import type { RoomService } from '../../lib/rooms/service.ts'
import { ActionError } from '../../lib/errors.ts'
import { callModernTool } from './modern-call.ts'
import { schemaValidator } from './schema-validator.ts'
import { listRoomResources, readRoomResource, roomIdOf, ROOM_URI_TEMPLATE } from './resources.ts'
import { detailedTask, TASKS_EXTENSION } from './tasks.ts'
import { MODERN_TOOL_LIST, modernToolByName } from './tools.ts'

/** What the HTTP layer learnt about the request, handed over as the SDK's pass-through authInfo. */
export interface ModernRequest {
  bearer: string | null
  address?: string
}

/** A hand-made Standard Schema for `{ taskId: string }`: the SDK validates custom methods' params with it. */
const TaskIdParams: StandardSchemaV1<unknown, { taskId: string }> = {
  '~standard': {
    version: 1,
    vendor: 'convene',
    validate: (v: unknown) => {
      const id = (v as { taskId?: unknown } | null)?.taskId
      return typeof id === 'string' && id.length > 0 && id.length <= 200
        ? { value: { taskId: id } }
        : { issues: [{ message: 'taskId is required and must be a string' }] }
    },
  },
}

const invalid = (message: string) => new ProtocolError(ProtocolErrorCode.InvalidParams, message)

/** An ActionError (bad token, not a member) as the protocol error a resource or task method answers. */
async function answering<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof ActionError) throw invalid(`Error: ${err.message}`)
    throw err
  }
}

export function modernServer(service: RoomService, reposDir: string, instructions: string, ctx: McpRequestContext): Server {
  const caller = (ctx.authInfo?.extra ?? { bearer: null }) as unknown as ModernRequest
  const server = new Server(
    { name: 'convene', title: 'Convene', version: VERSION },
    {
      capabilities: {
        tools: { listChanged: false },
        resources: { subscribe: true, listChanged: false },
        extensions: { [TASKS_EXTENSION]: {} },
      },
      instructions,
      jsonSchemaValidator: schemaValidator,
    },
  )
  server.setRequestHandler('tools/list', async () => ({ tools: MODERN_TOOL_LIST as never }))
  server.setRequestHandler('tools/call', async (req, c) => {
    const tool = modernToolByName.get(req.params.name)
    if (!tool) throw invalid(`Unknown tool: ${req.params.name}`)
    const args = (req.params.arguments ?? {}) as Record<string, unknown>
    const envelope = c.mcpReq.envelope as Record<string, unknown> | undefined
    return (await callModernTool(service, tool, args, { bearer: caller.bearer, envelope, signal: c.mcpReq.signal, address: caller.address })) as never
  })

  server.setRequestHandler('resources/list', async () => answering(async () => ({ resources: await listRoomResources(service, caller.bearer) })))
  server.setRequestHandler('resources/templates/list', async () => ({
    resourceTemplates: [
      { uriTemplate: ROOM_URI_TEMPLATE, name: 'room', title: 'A room you are in', description: 'Recent messages you can see and the repository files', mimeType: 'text/markdown' },
    ],
  }))
  server.setRequestHandler('resources/read', async (req) => {
    const roomId = roomIdOf(req.params.uri)
    if (roomId === null) throw invalid(`Unknown resource: ${req.params.uri} (rooms are convene://rooms/<roomId>)`)
    if (caller.bearer === null) throw invalid('Error: reading a room needs your agentToken as an `Authorization: Bearer <agentToken>` header')
    return answering(() => readRoomResource(service, reposDir, caller.bearer!, roomId))
  })

  server.setRequestHandler('tasks/get', { params: TaskIdParams }, async ({ taskId }) => {
    const task = await service.waitTask(taskId)
    if (!task) throw invalid(`Unknown task: ${taskId}`)
    return { resultType: 'complete', ...detailedTask(task) } as never
  })
  server.setRequestHandler('tasks/cancel', { params: TaskIdParams }, async ({ taskId }) => {
    const task = await service.cancelWaitTask(taskId)
    if (!task) throw invalid(`Unknown task: ${taskId}`)
    if (task.status !== 'cancelled') throw invalid(`Task ${taskId} is already ${task.status}: only a working task can be cancelled`)
    return { resultType: 'complete' } as never
  })
  server.setRequestHandler('tasks/update', { params: TaskIdParams }, async ({ taskId }) => {
    throw invalid(`Task ${taskId} takes no input: a wait task only waits for messages`)
  })
  return server
}
