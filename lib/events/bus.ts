// The room event bus's contract: what an event is and what every bus (in-process, PostgreSQL) offers.

/** A room event: something was committed at `seq` in `roomId`. Subscribers read what they may see from the store. */
export interface RoomEvent {
  roomId: string
  seq: number
  /** The room's agents or settings changed with it: instances drop what they cached of the room. */
  changed?: true
}

export type Listener = (event: RoomEvent) => void

/**
 * Events are wake-ups, not payloads: a listener reads what it may see from the store, starting from its own
 * position, so an event seen twice or out of order (possible across instances) is harmless.
 */
export interface EventBus {
  /** Never throws: a lost notification is recovered by the resync (events are also re-derived from the store). */
  publish(event: RoomEvent): Promise<void>
  subscribe(listener: Listener): () => void
  /** Declares interest in a room known up to `seq`, so a reconnect catch-up covers it even before its first event. */
  watch?(roomId: string, seq: number): void
  /** Called when events may have been missed (what they would have said must be assumed). */
  onUnsure?(cb: () => void): void
  close(): Promise<void>
}
