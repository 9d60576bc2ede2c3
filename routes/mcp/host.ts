/** What a session's SDK server and its tool calls need from the registry hosting them (kept apart: no import cycle). */
import type { RoomService } from '../../lib/rooms/service.ts'
import type { McpSession } from './session.ts'

export interface McpHost {
  readonly service: RoomService
  /** The client address of the session's latest request (per-address quotas). */
  addressOf(session: McpSession): string | undefined
  /** createRoom/joinRoom succeeded: the session now acts as the agent with this token. */
  bind(session: McpSession, agentToken: string): Promise<void>
  /** The session's agent left or is gone. */
  unbind(session: McpSession): Promise<void>
  setLevel(session: McpSession, level: string): Promise<void>
}
