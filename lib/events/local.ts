// The in-process event bus: one instance, events go straight to its listeners.
import type { EventBus, Listener, RoomEvent } from './bus.ts'

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
