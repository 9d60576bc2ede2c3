// Long-poll: an agent waits until something is unread for it, or its timeout passes.
import { errors } from '../errors.ts'
import type { RoomContext } from './context.ts'
import type { Messaging } from './messaging.ts'
import { unreadResult } from './replies.ts'
import { WAIT_TASK_MAX_SECONDS } from './wait-tasks.ts'

/** A wait held by its request; longer ones run as wait tasks (wait-tasks.ts). */
const MAX_WAIT_SECONDS = 60

export class Waits {
  constructor(
    private readonly ctx: RoomContext,
    private readonly messaging: Messaging,
  ) {}

  /**
   * Returns as soon as anything is unread (cursor moves), or empty after `timeout` seconds. With `mentionsOnly`,
   * only a DM to the agent or a broadcast that @mentions it counts (the others are passed over).
   * Once `signal` aborts (the client left) nothing is read any more, so nothing is marked read for nobody.
   * An agent removed meanwhile (kicked, left elsewhere) ends the wait at once with Invalid agentToken.
   */
  async wait(p: { agentToken: string; timeout?: number; mentionsOnly?: boolean }, signal?: AbortSignal) {
    const timeout = p.timeout ?? 30
    if (!(timeout >= 0 && timeout <= MAX_WAIT_SECONDS)) {
      throw errors.invalid('timeout', `must be a number from 0 to ${MAX_WAIT_SECONDS} (up to ${WAIT_TASK_MAX_SECONDS} when run as an MCP task)`)
    }
    const { agent, room } = await this.ctx.authenticate(p.agentToken)
    const deadline = Date.now() + timeout * 1000
    for (;;) {
      if (signal?.aborted) return unreadResult(room.id, [])
      // Listen before reading, so an event committed in between is not missed.
      const woke = this.nextEvent(room.id, deadline - Date.now(), signal)
      const messages = await this.messaging.drainUnread(agent, undefined, true, signal, { mentionsOnly: p.mentionsOnly, via: 'wait' })
      if (messages.length > 0 || Date.now() >= deadline || signal?.aborted) {
        woke.cancel()
        return this.messaging.unreadReply(agent, room.id, messages)
      }
      // Nothing to read is also what a removed agent sees: tell it apart before sleeping.
      if (!(await this.ctx.store.existingAgents([agent.id])).has(agent.id)) {
        woke.cancel()
        throw errors.invalidToken()
      }
      await woke.promise
    }
  }

  private nextEvent(roomId: string, ms: number, signal?: AbortSignal) {
    let cancel = () => {}
    const promise = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        unsubscribe()
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, ms))
      const unsubscribe = this.ctx.events.subscribe((e) => e.roomId === roomId && done())
      signal?.addEventListener('abort', done, { once: true })
      cancel = done
    })
    return { promise, cancel }
  }
}
