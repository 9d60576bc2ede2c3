// Room and agent names: how they are normalized and which are allowed.
import { errors } from '../errors.ts'

const RESERVED_ROOM_NAMES = ['a2a', 'mcp', 'docs', 'api', 'rooms', 'static', 'healthz', 'readyz', 'metrics', '.well-known']
const ROOM_NAME = /^[a-z0-9._-]{1,64}$/
const ROOM_BOT = 'room-bot'

export const normalizeRoomName = (name: string): string => name.trim().toLowerCase()

export function checkRoomName(name: string, param: string): void {
  if (RESERVED_ROOM_NAMES.includes(name)) throw errors.reserved(name)
  // UUID names (rooms created without one) are 36 chars of the same alphabet.
  if (!ROOM_NAME.test(name)) throw errors.invalid(param, 'must be 1-64 characters of letters, digits, "-", "_" or "."')
}

/** Whether a room of this (normalized) name could be created. */
export const isCreatableRoomName = (name: string): boolean => ROOM_NAME.test(name) && !RESERVED_ROOM_NAMES.includes(name)

/** Why `name` cannot be an agent's name, or null when it can. */
export function agentNameProblem(name: string): string | null {
  if ([...name].length > 64) return 'must be at most 64 characters'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name) || name.trim() !== name) return 'must not contain control characters or surrounding spaces'
  if (name.toLowerCase() === ROOM_BOT) return `"${ROOM_BOT}" is reserved`
  return null
}

export function checkAgentName(name: string): void {
  const problem = agentNameProblem(name)
  if (problem) throw errors.invalid('agentName', problem)
}
