/** The room and message actions: parameters, results, per-surface hints and what each runs on the service. */
import { Type, type Static } from 'typebox'
import type { Result, RoomService } from '../rooms/service.ts'
import { defineAction, type ToolAnnotations } from './define.ts'
import {
  AgentEndpoint,
  AgentName,
  AgentToken,
  Description,
  Empty,
  Limit,
  Messages,
  Missed,
  Offset,
  Password,
  RoomRef,
  RoomTypeSchema,
  TargetAgent,
} from './schemas.ts'

const hints = (readOnly: boolean, destructive: boolean, idempotent: boolean): ToolAnnotations => ({
  readOnlyHint: readOnly,
  destructiveHint: destructive,
  idempotentHint: idempotent,
  openWorldHint: false,
})
const READ = hints(true, false, true)
const WRITE = hints(false, false, false)

const Join = Type.Object({
  roomId: Type.String(),
  agentName: Type.String(),
  agentToken: Type.String({ description: 'Keep it: your identity for every later call' }),
  role: Type.Enum(['admin', 'member']),
  ...Missed,
})

const MentionsOnly = Type.Boolean({
  description: 'Only DMs to you and messages that @mention you; your cursor still moves past the others (they count as read)',
})

const Unread = Type.Object({
  messages: Messages,
  total: Type.Integer(),
  awaitingAck: Type.Optional(Type.Array(Type.String(), { description: 'Ids of these messages asking you for message.ack' })),
})

const TargetParams = Type.Object({ agentToken: AgentToken, targetAgent: TargetAgent })

/** promote, demote and kick: an admin acting on another agent of the room. */
const adminOnAgent = (
  name: string,
  alias: string,
  tool: string,
  title: string,
  description: string,
  annotations: ToolAnnotations,
  run: (s: RoomService, p: Static<typeof TargetParams>) => Promise<Result<Record<string, never>>>,
) =>
  defineAction({ name, alias, tool, title, description, params: TargetParams, result: Empty, a2a: {}, mcp: { session: true }, annotations, run })

export const ROOM_ACTIONS = [
  defineAction({
    name: 'room.create',
    alias: 'create',
    tool: 'createRoom',
    title: 'Create a room',
    description: 'Create a new room and join it as admin. Returns the room UUID and your agentToken.',
    params: Type.Object({
      agentName: AgentName,
      name: Type.Optional(Type.String({ maxLength: 64, description: 'Room name: letters, digits, "-", "_", "."; case-insensitive. Omitted: the UUID is the name' })),
      password: Type.Optional(Password),
      description: Type.Optional(Description),
      type: Type.Optional(RoomTypeSchema),
      agentEndpoint: Type.Optional(AgentEndpoint),
    }),
    result: Type.Object({
      roomId: Type.String(),
      name: Type.String(),
      description: Type.String(),
      type: Type.Enum(['group', 'channel']),
      passwordProtected: Type.Boolean(),
      agentName: Type.String(),
      agentToken: Type.String(),
    }),
    a2a: { text: 'name' },
    mcp: { bind: true },
    annotations: WRITE,
    run: (s, p, ctx) => s.create(p, ctx.caller),
  }),
  defineAction({
    name: 'room.join',
    alias: 'join',
    tool: 'joinRoom',
    title: 'Join a room',
    description:
      'Join an existing room as a member. Returns your agentToken. To reconnect under the same name, pass your agentToken.',
    params: Type.Object({
      roomId: RoomRef,
      agentName: AgentName,
      password: Type.Optional(Password),
      agentToken: Type.Optional(Type.String({ description: 'Your agentToken, to reconnect under the same name' })),
      agentEndpoint: Type.Optional(AgentEndpoint),
    }),
    result: Join,
    a2a: { context: 'roomId' },
    mcp: { bind: true },
    annotations: WRITE,
    run: (s, p, ctx) => s.join(p, ctx.signal),
  }),
  defineAction({
    name: 'room.leave',
    alias: 'leave',
    tool: 'leaveRoom',
    title: 'Leave the room',
    description: 'Leave the room. Your agentToken stops working.',
    params: Type.Object({
      agentToken: AgentToken,
      roomId: Type.Optional(RoomRef),
    }),
    result: Empty,
    a2a: { context: 'roomId' },
    mcp: { session: true },
    annotations: hints(false, true, false),
    run: (s, p) => s.leave(p),
  }),
  defineAction({
    name: 'room.info',
    alias: 'info',
    tool: 'roomInfo',
    title: 'Room details',
    description: 'Room details: description, type and participants with their roles. A protected room answers only to its UUID or its password.',
    params: Type.Object({ roomId: RoomRef, password: Type.Optional(Password) }),
    result: Type.Object({
      roomId: Type.String(),
      name: Type.String(),
      description: Type.String(),
      type: Type.Enum(['group', 'channel']),
      passwordProtected: Type.Boolean(),
      createdAt: Type.String(),
      agents: Type.Array(
        Type.Object({ name: Type.String(), role: Type.Enum(['admin', 'member']), joinedAt: Type.String(), kind: Type.Optional(Type.Literal('human')) }),
      ),
    }),
    a2a: { context: 'roomId' },
    mcp: { roomDefault: true },
    annotations: READ,
    run: (s, p) => s.info(p),
  }),
  defineAction({
    name: 'room.list',
    alias: 'list',
    tool: 'listRooms',
    title: 'List public rooms',
    description: 'List public (unprotected) rooms, sorted by name, with descriptions, types and agent counts.',
    params: Type.Object({
      search: Type.Optional(Type.String({ maxLength: 200, description: 'Only rooms whose name or description contains this' })),
      limit: Type.Optional(Limit),
      offset: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'How many to skip (default 0)' })),
    }),
    result: Type.Object({
      rooms: Type.Array(
        Type.Object({
          name: Type.String(),
          description: Type.String(),
          type: Type.Enum(['group', 'channel']),
          agents: Type.Integer(),
          createdAt: Type.String(),
        }),
      ),
      total: Type.Integer(),
    }),
    a2a: {},
    mcp: {},
    annotations: READ,
    run: (s, p) => s.list(p),
  }),
  adminOnAgent('room.promote', 'promote', 'promoteAgent', 'Promote to admin', 'Promote a member to admin. Admin only.', hints(false, false, true), (s, p) => s.promote(p)),
  adminOnAgent('room.demote', 'demote', 'demoteAgent', 'Demote to member', 'Demote an admin to member. Admin only. The last admin cannot be demoted.', hints(false, false, true), (s, p) => s.demote(p)),
  adminOnAgent('room.kick', 'kick', 'kickAgent', 'Remove an agent', 'Remove an agent from the room; its agentToken stops working. Admin only.', hints(false, true, false), (s, p) => s.kick(p)),
  defineAction({
    name: 'room.update',
    alias: 'update',
    tool: 'updateRoom',
    title: 'Update the room',
    description: 'Change the room description and/or type. Admin only.',
    params: Type.Object({ agentToken: AgentToken, description: Type.Optional(Description), type: Type.Optional(RoomTypeSchema) }),
    result: Empty,
    a2a: {},
    mcp: { session: true },
    annotations: hints(false, false, true),
    run: (s, p) => s.update(p),
  }),
] as const

export const MESSAGE_ACTIONS = [
  defineAction({
    name: 'message.send',
    alias: 'send',
    tool: 'sendMessage',
    title: 'Send a message',
    description:
      'Send a message to the room, or a direct message to one agent with `to` (only the two of you see it). `replyTo` answers a message in its thread. `@name` in a broadcast mentions that agent. `ackRequired` asks recipients to acknowledge it. In channels only admins may post.',
    params: Type.Object({
      agentToken: AgentToken,
      text: Type.String({ minLength: 1, description: 'The message (1–32,000 characters)' }),
      to: Type.Optional(Type.String({ description: 'Agent name for a direct message; omit to broadcast' })),
      replyTo: Type.Optional(Type.String({ maxLength: 100, description: 'Id of a message you can see: this one replies to it, in its thread' })),
      ackRequired: Type.Optional(Type.Boolean({ description: 'Ask each recipient to acknowledge it (message.ack); follow with message.status' })),
    }),
    result: Type.Object({ id: Type.String(), seq: Type.Integer(), ...Missed }),
    a2a: { text: 'text' },
    mcp: { session: true },
    annotations: WRITE,
    run: (s, p, ctx) => s.send(p, ctx.signal),
  }),
  defineAction({
    name: 'message.history',
    alias: 'history',
    tool: 'messageHistory',
    title: 'Message history',
    description: 'Browse the room history you may see (broadcasts and your own DMs), oldest first: the `limit` newest after skipping `offset` newest.',
    params: Type.Object({ agentToken: AgentToken, roomId: RoomRef, limit: Type.Optional(Limit), offset: Type.Optional(Offset) }),
    result: Type.Object({ messages: Messages, total: Type.Integer() }),
    a2a: { context: 'roomId' },
    mcp: { session: true, roomDefault: true },
    annotations: READ,
    run: (s, p) => s.history(p),
  }),
  defineAction({
    name: 'message.thread',
    alias: 'thread',
    tool: 'messageThread',
    title: 'Read a thread',
    description: 'A thread, oldest first: its root message and the replies you may see, `limit` after skipping `offset`.',
    params: Type.Object({
      agentToken: AgentToken,
      threadId: Type.String({ minLength: 1, maxLength: 100, description: "The thread: its root's id (any message's threadId)" }),
      roomId: Type.Optional(RoomRef),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'How many (default 50, max 200)' })),
      offset: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'How many to skip from the oldest (default 0)' })),
    }),
    result: Type.Object({ messages: Messages, total: Type.Integer() }),
    a2a: { context: 'roomId' },
    mcp: { session: true, roomDefault: true },
    annotations: READ,
    run: (s, p) => s.thread(p),
  }),
  defineAction({
    name: 'message.unread',
    alias: 'unread',
    tool: 'unreadMessages',
    title: 'Unread messages',
    description:
      'Every message since you last checked (never truncated), then marks them read. `peek: true` reads without marking; `mentionsOnly: true` keeps DMs to you and @mentions of you.',
    params: Type.Object({
      agentToken: AgentToken,
      peek: Type.Optional(Type.Boolean({ description: 'Read without moving your cursor' })),
      mentionsOnly: Type.Optional(MentionsOnly),
    }),
    result: Unread,
    a2a: {},
    mcp: { session: true },
    annotations: hints(false, false, false),
    run: (s, p, ctx) => s.unread(p, ctx.signal),
  }),
  defineAction({
    name: 'message.wait',
    alias: 'wait',
    tool: 'waitForMessages',
    title: 'Wait for messages',
    description:
      'Long-poll: returns as soon as you have unread messages (and marks them read), or an empty list when `timeout` seconds pass. `mentionsOnly: true` waits for DMs to you and @mentions of you.',
    params: Type.Object({
      agentToken: AgentToken,
      timeout: Type.Optional(
        Type.Number({ minimum: 0, maximum: 86400, default: 30, description: 'Seconds to wait (default 30; at most 60, or up to 86400 when run as an MCP task)' }),
      ),
      mentionsOnly: Type.Optional(MentionsOnly),
    }),
    result: Unread,
    a2a: {},
    mcp: { session: true },
    annotations: hints(false, false, false),
    run: (s, p, ctx) => s.wait(p, ctx.signal),
  }),
  defineAction({
    name: 'message.search',
    alias: 'search',
    tool: 'searchMessages',
    title: 'Search messages',
    description: 'Full-text search over messages you may see, best first. Words are stemmed ("fix" finds "fixed"); "a phrase", or, -word work. Snippets mark «matches».',
    params: Type.Object({
      agentToken: AgentToken,
      query: Type.String({ minLength: 1, description: 'Words to find (≤ 500 characters)' }),
      roomId: Type.Optional(RoomRef),
      from: Type.Optional(Type.String({ minLength: 1, description: 'Sender name' })),
      since: Type.Optional(Type.String({ minLength: 1, description: 'ISO 8601 date-time' })),
      until: Type.Optional(Type.String({ minLength: 1, description: 'ISO 8601 date-time' })),
      threadId: Type.Optional(Type.String({ minLength: 1, description: "A thread: its root's id or any reply's id" })),
      limit: Type.Optional(Limit),
      offset: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Results to skip' })),
    }),
    result: Type.Object({
      results: Type.Array(
        Type.Object({
          message: Messages.items,
          seq: Type.Integer(),
          rank: Type.Number(),
          snippet: Type.String(),
        }),
      ),
      total: Type.Integer(),
    }),
    a2a: { context: 'roomId', text: 'query' },
    mcp: { session: true, roomDefault: true },
    annotations: READ,
    run: (s, p) => s.search(p),
  }),
  defineAction({
    name: 'message.ack',
    alias: 'ack',
    tool: 'ackMessages',
    title: 'Acknowledge messages',
    description: 'Acknowledge messages sent to you with ackRequired (unread and wait list them in awaitingAck); each sender is told in a room-bot DM.',
    params: Type.Object({
      agentToken: AgentToken,
      messageIds: Type.Array(Type.String(), { minItems: 1, maxItems: 100, description: 'Ids of the messages (1–100)' }),
      roomId: Type.Optional(RoomRef),
    }),
    result: Type.Object({ acknowledged: Type.Array(Type.String()), alreadyAcknowledged: Type.Array(Type.String()) }),
    a2a: { context: 'roomId' },
    mcp: { session: true, roomDefault: true },
    annotations: hints(false, false, true),
    run: (s, p) => s.ack(p),
  }),
  defineAction({
    name: 'message.status',
    alias: 'status',
    tool: 'messageStatus',
    title: 'Delivery status',
    description: 'Where a message you sent stands with each recipient: sent, delivered (via which surface), read or acknowledged, and when.',
    params: Type.Object({
      agentToken: AgentToken,
      messageId: Type.String({ minLength: 1, maxLength: 100, description: 'Id of a message you sent' }),
      roomId: Type.Optional(RoomRef),
    }),
    result: Type.Object({
      messageId: Type.String(),
      seq: Type.Integer(),
      ackRequired: Type.Boolean(),
      to: Type.Optional(Type.String()),
      counts: Type.Object({ sent: Type.Integer(), delivered: Type.Integer(), read: Type.Integer(), acknowledged: Type.Integer() }),
      recipients: Type.Array(
        Type.Object({
          agent: Type.String(),
          state: Type.Enum(['sent', 'delivered', 'read', 'acknowledged']),
          at: Type.String(),
          via: Type.Optional(Type.Enum(['unread', 'history', 'wait', 'sse', 'mcp', 'push'])),
        }),
      ),
    }),
    a2a: { context: 'roomId' },
    mcp: { session: true, roomDefault: true },
    annotations: READ,
    run: (s, p) => s.status(p),
  }),
] as const
