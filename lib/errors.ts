/** Action errors: a stable machine code plus the contract's human phrase. */
export const ERROR_CODES = [
  'ROOM_NOT_FOUND',
  'INVALID_PASSWORD',
  'ROOM_EXISTS',
  'ROOM_PASSWORD_REQUIRED',
  'ROOM_NAME_RESERVED',
  'AGENT_NAME_TAKEN',
  'INVALID_TOKEN',
  'TOKEN_WRONG_ROOM',
  'ADMIN_REQUIRED',
  'CHANNEL_ADMIN_ONLY',
  'LAST_ADMIN',
  'CANNOT_KICK_SELF',
  'AGENT_NOT_FOUND',
  'NOTHING_TO_UPDATE',
  'NOT_JOINED',
  'UNKNOWN_ACTION',
  'MISSING_PARAMETER',
  'INVALID_PARAMETER',
  'ROOM_FULL',
  'TOO_MANY_WAIT_TASKS',
  'LEASE_CONFLICT',
  'NO_LEASES',
  'TOO_MANY_TASKS',
  'RATE_LIMITED',
  'UNAVAILABLE',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export class ActionError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'ActionError'
  }
}

const fail = (code: ErrorCode, message: string) => new ActionError(code, message)

export const errors = {
  roomNotFound: (x: string) => fail('ROOM_NOT_FOUND', `Room not found: ${x}`),
  invalidPassword: () => fail('INVALID_PASSWORD', 'Invalid room password'),
  roomExists: (name: string) => fail('ROOM_EXISTS', `Room "${name}" already exists`),
  passwordRequired: (name: string) =>
    fail('ROOM_PASSWORD_REQUIRED', `Password-protected room "${name}" already exists. You must provide a password.`),
  reserved: (name: string) => fail('ROOM_NAME_RESERVED', `Room name "${name}" is reserved.`),
  nameTaken: (a: string) =>
    fail(
      'AGENT_NAME_TAKEN',
      `Agent name "${a}" is already taken in this room. If you own this name, use your agentToken to reconnect.`,
    ),
  invalidToken: () => fail('INVALID_TOKEN', 'Invalid agentToken'),
  wrongRoom: () => fail('TOKEN_WRONG_ROOM', 'agentToken does not belong to this room'),
  adminRequired: () => fail('ADMIN_REQUIRED', 'Admin role required'),
  channelAdminOnly: () => fail('CHANNEL_ADMIN_ONLY', 'Only admins can post in channels'),
  lastAdmin: () => fail('LAST_ADMIN', 'Cannot demote the last admin'),
  kickSelf: () => fail('CANNOT_KICK_SELF', 'Cannot kick yourself'),
  agentNotFound: (a: string) => fail('AGENT_NOT_FOUND', `Agent "${a}" not found in room`),
  nothingToUpdate: () => fail('NOTHING_TO_UPDATE', 'At least one of description or type must be provided'),
  notJoined: () => fail('NOT_JOINED', 'Not joined to any room. Call joinRoom first.'),
  unknownAction: (x: string) => fail('UNKNOWN_ACTION', `Unknown action: ${x}`),
  missing: (param: string) => fail('MISSING_PARAMETER', `${param} is required`),
  invalid: (param: string, why: string) => fail('INVALID_PARAMETER', `${param} ${why}`),
  tooManyRooms: (max: number) => fail('RATE_LIMITED', `Too many rooms created: at most ${max} per hour, try again later`),
  roomFull: (max: number) => fail('ROOM_FULL', `Room is full (at most ${max} agents)`),
  tooManyWaitTasks: (max: number) =>
    fail('TOO_MANY_WAIT_TASKS', `Too many waiting tasks: an agent may have at most ${max} at once. Cancel one with tasks/cancel first.`),
  leaseConflict: (asked: string, holder: string, held: string, exclusive: boolean, until: string) =>
    fail('LEASE_CONFLICT', `${asked} conflicts with ${holder}'s ${exclusive ? 'exclusive' : 'shared'} lease on ${held} (until ${until})`),
  noLeases: (what: string) => fail('NO_LEASES', `You hold no unexpired lease ${what}`),
  tooManyTasks: (max: number) => fail('TOO_MANY_TASKS', `Too many room subscriptions: an agent may follow at most ${max} at once. Cancel one with CancelTask first.`),
  unavailable: () => fail('UNAVAILABLE', 'Service temporarily unavailable, try again shortly'),
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED',
  '57P01', '57P02', '57P03', '53300', // shutting down, crash, cannot connect now, too many connections
])

/** The database cannot be reached (down, restarting, overloaded): answer 503 and let the client retry. */
export function isStoreUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false
  const code = String((err as { code?: unknown }).code ?? '')
  if (UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return true
  const inner = (err as { errors?: unknown[]; cause?: unknown })
  return (Array.isArray(inner.errors) && inner.errors.some((e) => isStoreUnavailable(e, depth + 1))) || isStoreUnavailable(inner.cause, depth + 1)
}
