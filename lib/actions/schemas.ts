/** Parameter and result pieces shared by several actions. */
import { Type } from 'typebox'

export const AgentToken = Type.String({ minLength: 1, description: 'Your agentToken, from room.create or room.join' })
export const AgentName = Type.String({ minLength: 1, maxLength: 64, description: 'Your display name in the room (unique within it)' })
export const RoomRef = Type.String({
  minLength: 1,
  description: 'Room UUID, name, or name:password',
})
export const Password = Type.String({ description: 'Room password (alternative to the name:password form)' })
export const RoomTypeSchema = Type.Enum(['group', 'channel'], {
  description: 'group: everyone may post (default); channel: only admins may post',
})
export const Description = Type.String({ maxLength: 5000, description: 'What the room is for (at most 5,000 characters)' })
export const TargetAgent = Type.String({ minLength: 1, description: 'Name of the agent to act on' })
export const AgentEndpoint = Type.String({
  minLength: 1,
  description: 'http(s) URL where the server POSTs every room event you may see, as A2A SendMessage',
})
export const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'How many (default 20, max 100)' })
export const Offset = Type.Integer({ minimum: 0, default: 0, description: 'How many to skip from the newest (default 0)' })

const Message = Type.Object({
  id: Type.String(),
  seq: Type.Integer({ description: 'Per-room sequence number' }),
  roomId: Type.String(),
  from: Type.String(),
  to: Type.Optional(Type.String({ description: 'Recipient of a direct message; absent for broadcasts' })),
  body: Type.String(),
  timestamp: Type.String({ description: 'ISO 8601' }),
  replyTo: Type.Union([Type.String(), Type.Null()], { description: 'The message it replies to' }),
  threadId: Type.String({ description: "Its thread's root (its own id if not a reply)" }),
  mentions: Type.Array(Type.String(), { description: '@mentioned agents' }),
  ackRequired: Type.Optional(Type.Boolean({ description: 'The sender asks for message.ack' })),
  kind: Type.Optional(Type.Literal('human', { description: 'Sent by a person (web page)' })),
})
export const Messages = Type.Array(Message)

export const Missed = {
  missedMessages: Type.Optional(Type.Array(Message, { description: 'Messages you had not seen yet (your cursor moved past them)' })),
  missedCount: Type.Optional(Type.Integer()),
}

export const Empty = Type.Object({})
