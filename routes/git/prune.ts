// Prunes the repositories this instance received pushes for, once what the push left unreachable is older
// than GIT_PRUNE_GRACE_SECONDS (see lib/git/prune.ts). One repository at a time, off the request path.
import { existsSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { pruneRepository, refreshOpen } from '../../lib/git/index.ts'
import type { PruneResult } from '../../lib/git/index.ts'

/** Pushes arriving together are pruned together: the first one sets the time. */
const SETTLE_MS = 1000
const MAX_TIMER_MS = 2 ** 31 - 1

export interface Pruner {
  /** A push reached this room's repository. */
  touched(roomId: string): void
  /** Runs whatever is due now; resolves when done (tests and shutdown). */
  runDue(): Promise<void>
}

export function schedulePrunes(app: FastifyInstance, graceSeconds: number, repoDir: (roomId: string) => string): Pruner {
  const graceMs = graceSeconds * 1000
  const due = new Map<string, number>()
  let timer: NodeJS.Timeout | null = null
  let running: Promise<void> | null = null
  let closed = false

  const arm = () => {
    if (timer) clearTimeout(timer)
    timer = null
    if (closed || running || !due.size) return
    let next = Infinity
    for (const at of due.values()) next = Math.min(next, at)
    timer = setTimeout(() => void runDue(), Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now())))
    timer.unref()
  }

  const pruneOne = async (roomId: string) => {
    const dir = repoDir(roomId)
    // An expired room's repository is gone: never recreate it.
    if (!existsSync(path.join(dir, 'HEAD'))) return
    let res: PruneResult
    try {
      res = await pruneRepository(dir, { graceMs, withLock: (fn) => app.rooms.withRepoLock(roomId, fn) })
    } catch (err) {
      app.log.warn({ err, roomId }, 'git prune failed')
      return
    }
    // This instance's open copy lets go of the removed packs now (once no request reads them), not at its next use.
    if (res.packsRemoved) refreshOpen(dir)
    if (res.retryAt !== undefined) due.set(roomId, Math.min(due.get(roomId) ?? Infinity, res.retryAt + SETTLE_MS))
    if (res.packsRemoved || res.objectsPruned || res.leftoversRemoved) app.log.info({ roomId, ...res }, 'git prune')
  }

  async function runDue(): Promise<void> {
    if (running) return running
    running = (async () => {
      for (const [roomId, at] of [...due]) {
        if (closed) return
        if (at > Date.now()) continue
        due.delete(roomId)
        await pruneOne(roomId)
      }
    })().finally(() => {
      running = null
      arm()
    })
    return running
  }

  app.rooms.onRoomsDeleted((ids) => {
    for (const id of ids) due.delete(id)
  })
  app.addHook('onClose', async () => {
    closed = true
    arm()
    await running
  })

  return {
    touched(roomId) {
      if (!due.has(roomId)) due.set(roomId, Date.now() + graceMs + SETTLE_MS)
      arm()
    },
    runDue,
  }
}
