// STUB (the feed helper replaces this file): per-room live feed shared by SSE, MCP notifications and the web page.
import type { EventBus } from '../events.ts'
import type { Store } from '../store.ts'

/** What a feed needs: the store reads and the bus. The room service builds the one feed of its instance. */
export interface FeedSource {
  store: Pick<Store, 'roomById' | 'readRoom' | 'readAfter' | 'existingAgents'>
  events: Pick<EventBus, 'subscribe' | 'watch'>
  onError: (err: unknown) => void
}

export class RoomFeed {
  constructor(readonly source: FeedSource) {}
  close(): void {}
}
