/** A room event: something was committed at `seq` in `roomId`. Subscribers read what they may see from the store. */
export interface RoomEvent {
  roomId: string
  seq: number
}

export type Listener = (event: RoomEvent) => void

export interface EventBus {
  publish(event: RoomEvent): Promise<void>
  subscribe(listener: Listener): () => void
  close(): Promise<void>
}

/** One process: events go straight to listeners. */
export class LocalBus implements EventBus {
  protected readonly listeners = new Set<Listener>()

  async publish(event: RoomEvent): Promise<void> {
    this.emit(event)
  }

  protected emit(event: RoomEvent): void {
    for (const l of this.listeners) {
      try {
        l(event)
      } catch {
        // one broken listener must not starve the others
      }
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async close(): Promise<void> {
    this.listeners.clear()
  }
}
