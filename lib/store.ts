/** What the room service needs from storage. `db/` implements it; every method is atomic. */

export type RoomType = 'group' | 'channel'
export type Role = 'admin' | 'member'
/** A human joined from the web page; everyone else is an agent. */
export type AgentKind = 'agent' | 'human'

export interface RoomRecord {
  id: string
  name: string
  passwordHash: string | null
  description: string
  type: RoomType
  createdAt: Date
  lastActivity: Date
  lastSeq: number
}

export interface AgentRecord {
  id: string
  roomId: string
  name: string
  tokenHash: string
  role: Role
  endpoint: string | null
  cursor: number
  joinedAt: Date
  /** Seq of its join notice: it is a recipient of the broadcasts after it. */
  joinedSeq: number
  kind: AgentKind
}

export interface MessageRecord {
  id: string
  seq: number
  roomId: string
  from: string
  fromId: string | null
  to: string | null
  toId: string | null
  body: string
  timestamp: Date
  /** The message this one replies to (null if none). */
  replyTo: string | null
  /** The root of the thread a reply belongs to (null for a message that is not a reply). */
  threadId: string | null
  /** Names of the room's agents @mentioned (broadcasts only), as resolved when it was sent. */
  mentions: string[]
  /** The sender asked its recipients to acknowledge it (message.ack). */
  ackRequired: boolean
  /** The sender's kind when it was sent (room-bot: agent). */
  kind: AgentKind
}

/**
 * A message before the store gives it its seq. `mentionCandidates`: names @mentioned in the body; the store keeps
 * those of agents in the room at that moment, in the same statement as the insert.
 */
export type NewMessage = Omit<MessageRecord, 'seq' | 'replyTo' | 'threadId' | 'mentions' | 'ackRequired' | 'kind'> & {
  ackRequired?: boolean
  kind?: AgentKind
  replyTo?: string | null
  threadId?: string | null
  mentionCandidates?: string[]
}

/** An agent before the store gives it its cursor and join time. */
export type NewAgent = Omit<AgentRecord, 'cursor' | 'joinedAt' | 'joinedSeq' | 'kind'> & { kind?: AgentKind }

/** A room before the store gives it its times and seq. */
export type NewRoom = Omit<RoomRecord, 'createdAt' | 'lastActivity' | 'lastSeq'>

/** A room-bot notice to post in the same transaction as the change it reports. */
export interface Notice {
  id: string
  body: string
}

export interface Posted {
  id: string
  seq: number
  timestamp: Date
  /** The sender had read everything before this message; its cursor is now past it. */
  caughtUp?: boolean
}

export interface RoomSummary {
  name: string
  description: string
  type: RoomType
  agents: number
  createdAt: Date
}

export interface ReadOptions {
  /** Read only messages with seq ≤ this (default: the room's latest). */
  upTo?: number
  /** Start after this seq when it is past the agent's cursor (paging without moving it). */
  after?: number
  limit: number
  /** Move the agent's cursor past what was read. */
  move: boolean
  /** Return only messages that mention the agent or are DMs to it (the cursor still moves past the others). */
  mentionsOnly?: boolean
}

/** An agent whose A2A push deliveries this instance has leased. */
export interface PushClaim {
  agentId: string
  roomId: string
  endpoint: string
  /** Last seq delivered (2xx). */
  cursor: number
  failures: number
}

/** Push progress per agent: a lease so one instance delivers at a time, a cursor that moves only on 2xx. */
export interface PushStore {
  /** Leases due agents (behind their room, not leased, not backing off), optionally of one room or one agent. */
  claimPush(owner: string, leaseMs: number, scope: { roomId?: string; agentId?: string }): Promise<PushClaim[]>
  /** Records a 2xx for `seq` (push and read cursors move) and renews the lease; false if the lease was lost. */
  advancePush(agentId: string, owner: string, seq: number, leaseMs: number): Promise<boolean>
  /** Releases the lease at `cursor`; `more` when the room moved on meanwhile. */
  finishPush(agentId: string, owner: string, cursor: number): Promise<{ more: boolean }>
  /** Releases the lease and schedules the next attempt after `delayMs`. */
  backoffPush(agentId: string, owner: string, cursor: number, failures: number, delayMs: number): Promise<void>
  /** Releases every lease `owner` holds (shutdown). */
  releasePushes(owner: string): Promise<void>
  /** Rooms with an agent that has an endpoint. */
  endpointRooms(): Promise<string[]>
}

export type WaitTaskStatus = 'working' | 'completed' | 'failed' | 'cancelled'

/** A message.wait that outlives its request; `id` is the caller's unguessable handle, looked up only by key. */
export interface WaitTaskRecord {
  id: string
  agentId: string
  roomId: string
  status: WaitTaskStatus
  deadline: Date
  /** JSON, set when completed. */
  result: unknown
  error: string | null
  /** Completes only on a message that mentions the agent or is a DM to it. */
  mentionsOnly: boolean
  createdAt: Date
  updatedAt: Date
}

export type NewWaitTask = Pick<WaitTaskRecord, 'id' | 'agentId' | 'roomId' | 'deadline'> & { mentionsOnly?: boolean }

/** Messages a completing task hands over: the agent's cursor moves to `upTo`, unless it is already at `from` or past it. */
export interface WaitTaskRead {
  agentId: string
  from: number
  upTo: number
}

/** Durable waits: every state change is conditional on the task still working, so one instance wins each. */
export interface WaitTaskStore {
  /** Inserts a working task, unless its agent already has `max` working ones (0: no limit) or is gone. Serialized per agent. */
  createWaitTask(task: NewWaitTask, max: number, now: Date): Promise<'created' | 'full' | 'gone'>
  waitTask(id: string): Promise<WaitTaskRecord | null>
  waitTasks(ids: string[]): Promise<WaitTaskRecord[]>
  workingWaitTasks(roomId: string): Promise<WaitTaskRecord[]>
  /** Rooms that have working tasks. */
  workingWaitTaskRooms(): Promise<string[]>
  /**
   * Completes a working task with `result` and, with `read`, marks those messages read in the same transaction.
   * `lost`: the task was no longer working; `stale`: someone read the messages first; `gone`: the agent left.
   */
  completeWaitTask(id: string, result: unknown, read: WaitTaskRead | null, now: Date): Promise<WaitTaskRecord | 'lost' | 'stale' | 'gone'>
  /** Ends a working task as failed or cancelled; null if it was not working (or does not exist). */
  endWaitTask(id: string, status: 'failed' | 'cancelled', error: string | null, now: Date): Promise<WaitTaskRecord | null>
  /** Working tasks whose deadline is at or before `now`, at most `limit`. */
  dueWaitTasks(now: Date, limit: number): Promise<WaitTaskRecord[]>
  /** Deletes tasks that ended before `before`; returns how many. */
  deleteEndedWaitTasks(before: Date): Promise<number>
}

/** A full-text search over the messages one agent may see in its room (a null id: a spectator, broadcasts only). */
export interface SearchQuery {
  agent: { id: string | null; roomId: string }
  /** What the caller typed, read as a web search: words, "a phrase", or, -word. */
  text: string
  /** Sender's name. */
  from?: string
  since?: Date
  until?: Date
  /** A thread: its root and its replies. */
  threadId?: string
  limit: number
  offset: number
}

export interface SearchHit {
  message: MessageRecord
  rank: number
  /** The best passage of the body, each match between « and ». */
  snippet: string
}

export interface SearchStore {
  /** Matching messages, best first (newest first among equals), and how many match; none when the text has no searchable word. */
  searchMessages(q: SearchQuery): Promise<{ hits: SearchHit[]; total: number }>
}

/** Where a message reached its recipient: the surface whose delivery cursor passed it. */
export type Surface = 'unread' | 'history' | 'wait' | 'sse' | 'mcp' | 'push'

/** A surface's delivery cursor for one agent moved forward to `seq` at `at`. */
export interface DeliveryMark {
  agentId: string
  surface: Surface
  seq: number
  at: Date
}

/** One recipient of a message, as its cursors and acknowledgement say. */
export interface ReceiptRow {
  agent: string
  /** Read cursor; null for an agent that has left (only its acknowledgement is kept). */
  cursor: number | null
  readAt: Date | null
  ackedAt: Date | null
  /** The earliest-moved delivery cursor at or past the message, if any. */
  deliveredVia: Surface | null
  deliveredAt: Date | null
}

/** Receipts: delivery cursors per agent and surface, and acknowledgements (rows only for ackRequired messages). */
export interface ReceiptStore {
  /** Moves delivery cursors forward (never back); marks of agents that have left are dropped. */
  markDelivered(marks: DeliveryMark[]): Promise<void>
  /** The room's messages with these ids (any visibility; callers check). */
  messagesByIds(roomId: string, ids: string[]): Promise<MessageRecord[]>
  /**
   * Records the agent's acknowledgements of these messages and, in the same transaction, one room-bot DM to each
   * sender naming the ids it newly acknowledged (`body`). Acknowledging again changes nothing.
   */
  acknowledge(
    agent: { id: string; roomId: string; name: string },
    messages: MessageRecord[],
    body: (ids: string[]) => string,
    now: Date,
  ): Promise<{ acked: string[]; posted: Posted[] }>
  /** Which of these seqs the agent has acknowledged. */
  ackedSeqs(agentId: string, roomId: string, seqs: number[]): Promise<Set<number>>
  /** The recipients of a message (a DM's one, or the room's agents that had joined before a broadcast), by name. */
  receipts(m: MessageRecord): Promise<ReceiptRow[]>
}

/** One leased pattern of one agent. */
export interface LeaseRecord {
  agentId: string
  agent: string
  path: string
  exclusive: boolean
  reason: string
  expiresAt: Date
}

export type NewLease = Pick<LeaseRecord, 'path' | 'exclusive' | 'reason' | 'expiresAt'>

/** Path leases; callers serialize changes per room (withLock) so a conflict check and its write stay together. */
export interface LeaseStore {
  /** The room's leases that have not expired at `now`. */
  activeLeases(roomId: string, now: Date): Promise<LeaseRecord[]>
  /** Takes or updates the agent's leases on these patterns and posts `notice`, in one transaction. */
  putLeases(roomId: string, agentId: string, leases: NewLease[], notice: Notice, now: Date): Promise<Posted>
  /** Moves the expiry of the agent's unexpired leases (all, or those on `paths`); returns the patterns renewed. */
  renewLeases(roomId: string, agentId: string, paths: string[] | null, expiresAt: Date, now: Date): Promise<string[]>
  /** Drops the agent's leases (all, or those on `paths`) and posts the notice made of what went, in one transaction. */
  releaseLeases(roomId: string, agentId: string, paths: string[] | null, notice: (released: string[]) => Notice, now: Date): Promise<{ released: string[]; posted: Posted | null }>
  /** Drops leases expired at `now` (up to `limit` rooms' worth) and posts a notice per agent, made by `notice`. */
  expireLeases(now: Date, notice: (agent: string, paths: string[]) => Notice, limit: number): Promise<{ roomId: string; posted: Posted }[]>
}

export type A2ATaskState = 'working' | 'completed' | 'canceled' | 'failed'

/** An A2A Task following one agent's view of its room (room.subscribe). */
export interface A2ATaskRecord {
  id: string
  agentId: string
  roomId: string
  state: A2ATaskState
  /** The subscription delivers what comes after this seq. */
  startSeq: number
  /** The last seq written to a stream of it. */
  cursor: number
  reason: string | null
  createdAt: Date
  updatedAt: Date
}

export interface A2ATaskStore {
  /** A working task, unless its agent already has `max` working ones (null). */
  createA2ATask(task: Pick<A2ATaskRecord, 'id' | 'agentId' | 'roomId' | 'startSeq'>, max: number, now: Date): Promise<A2ATaskRecord | null>
  a2aTask(id: string): Promise<A2ATaskRecord | null>
  /** The agent's tasks, newest first, and how many it has. */
  a2aTasks(agentId: string, limit: number, offset: number): Promise<{ tasks: A2ATaskRecord[]; total: number }>
  /** Moves a working task's stream cursor forward. */
  advanceA2ATask(id: string, seq: number, now: Date): Promise<void>
  /** Ends a working task; null if it was not working. */
  endA2ATask(id: string, state: Exclude<A2ATaskState, 'working'>, reason: string, now: Date): Promise<A2ATaskRecord | null>
}

/** Where a task's status updates are pushed (A2A TaskPushNotificationConfig). */
export interface PushConfigRecord {
  taskId: string
  id: string
  url: string
  token: string | null
  authScheme: string | null
  authCredentials: string | null
  createdAt: Date
}

/** Push configs of tasks, and their delivery progress (the same lease/cursor/backoff scheme as agents' pushes). */
export interface TaskPushStore {
  /** Adds or replaces a config of a working task, delivering what comes after `cursor`; false if the task is not working. */
  putPushConfig(c: Omit<PushConfigRecord, 'createdAt'>, cursor: number, max: number, now: Date): Promise<'ok' | 'full' | 'gone'>
  pushConfig(taskId: string, id: string): Promise<PushConfigRecord | null>
  pushConfigs(taskId: string): Promise<PushConfigRecord[]>
  deletePushConfig(taskId: string, id: string): Promise<boolean>
  /** Rooms that have push configs of working tasks. */
  pushConfigRooms(): Promise<string[]>
  claimTaskPush(owner: string, leaseMs: number, scope: { roomId?: string; key?: string }): Promise<(PushClaim & { taskId: string; configId: string; token: string | null; authScheme: string | null; authCredentials: string | null })[]>
  advanceTaskPush(taskId: string, id: string, owner: string, seq: number, leaseMs: number): Promise<boolean>
  finishTaskPush(taskId: string, id: string, owner: string, cursor: number): Promise<{ more: boolean }>
  backoffTaskPush(taskId: string, id: string, owner: string, cursor: number, failures: number, delayMs: number): Promise<void>
  releaseTaskPushes(owner: string): Promise<void>
}

export class NameTakenError extends Error {}
export class RoomNameRaceError extends Error {}
/** A message's sender is no longer in its room (left, kicked, room deleted): nothing was stored. */
export class SenderGoneError extends Error {}

export interface Store extends PushStore, WaitTaskStore, SearchStore, ReceiptStore, LeaseStore, A2ATaskStore, TaskPushStore {
  readonly kind: 'postgres' | 'pglite'

  /** Creates a room with its creator as admin; `sameNameIds` must still be the rooms of that name, else RoomNameRaceError. */
  createRoom(room: NewRoom, creator: NewAgent, notice: Notice, sameNameIds: string[], now: Date): Promise<Posted>
  roomById(id: string): Promise<RoomRecord | null>
  roomsByName(name: string): Promise<RoomRecord[]>
  listRooms(opts: { search?: string; limit: number; offset: number }): Promise<{ rooms: RoomSummary[]; total: number }>
  updateRoom(roomId: string, patch: { description?: string; type?: RoomType }, notice: Notice, now: Date): Promise<Posted>

  agentByToken(tokenHash: string): Promise<{ agent: AgentRecord; room: RoomRecord } | null>
  agentByName(roomId: string, name: string): Promise<AgentRecord | null>
  agents(roomId: string): Promise<AgentRecord[]>
  /** Which of these agent ids still exist (not left, kicked or expired). */
  existingAgents(ids: string[]): Promise<Set<string>>
  /** New agent whose cursor starts at its own join notice. Throws NameTakenError. */
  addAgent(agent: NewAgent, notice: Notice, now: Date): Promise<Posted>
  setEndpoint(agentId: string, endpoint: string | null, now: Date): Promise<void>
  /** Removes an agent; if it was the last admin, promotes the longest-standing member (whose name is returned). */
  removeAgent(
    roomId: string,
    agentId: string,
    notice: Notice,
    promotedNotice: (name: string) => Notice,
    now: Date,
  ): Promise<{ posted: Posted[]; promoted: string | null }>
  /** Changes a role; refuses (returns null) to demote the last admin. */
  setRole(roomId: string, agentId: string, role: 'admin' | 'member', notice: Notice, now: Date): Promise<Posted | null>

  postMessage(msg: NewMessage): Promise<Posted>
  /** Messages the agent may see after its cursor (its own excluded), oldest first; `more` when the page was full. */
  readUnread(agent: { id: string; roomId: string }, opts: ReadOptions): Promise<{ messages: MessageRecord[]; more: boolean }>
  /** Moves the read cursor back to `seq` if it is past it (messages read for a reader that has gone become unread again). */
  rewindCursor(agentId: string, seq: number): Promise<void>
  /** Visible messages after `afterSeq`, oldest first (own included): the feed for streams and resumes. */
  readAfter(agent: { id: string; roomId: string } | null, roomId: string, afterSeq: number, limit: number): Promise<MessageRecord[]>
  /** Every message after `afterSeq`, DMs included, oldest first: one read per event for fan-out that filters per subscriber. */
  readRoom(roomId: string, afterSeq: number, limit: number): Promise<MessageRecord[]>
  /** A message of the room by id, whoever may see it (callers check visibility). */
  message(roomId: string, id: string): Promise<MessageRecord | null>
  /** The replies of a thread the agent may see, oldest first, after skipping `offset`, and their visible total. */
  threadReplies(agent: { id: string; roomId: string }, rootId: string, limit: number, offset: number): Promise<{ messages: MessageRecord[]; total: number }>
  /** The `limit` newest visible messages after skipping `offset` newest, oldest first, and the visible total. */
  history(agent: { id: string; roomId: string }, limit: number, offset: number): Promise<{ messages: MessageRecord[]; total: number }>

  /** Each room's latest seq (rooms that no longer exist are left out). */
  lastSeqs(roomIds: string[]): Promise<Map<string, number>>
  /** Deletes rooms idle since before `cutoff`; returns their ids. */
  deleteIdleRooms(cutoff: Date): Promise<string[]>
  counts(): Promise<{ rooms: number; agents: number; messages: number }>

  /** Runs `fn` holding a lock that excludes other holders of `key` on every instance. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>
  ping(): Promise<void>
  close(): Promise<void>
}
