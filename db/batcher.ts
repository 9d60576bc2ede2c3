// Group commit: calls made while a statement is in flight go together in the next one.

/**
 * Items queue while `slots` runs are in flight; each run takes up to `max` of them in arrival order. A run's
 * results pair with its items by position (an Error: that item failed on its own); a run that throws fails them all.
 */
export class Batcher<I, O> {
  private queue: { item: I; resolve(o: O): void; reject(e: unknown): void }[] = []
  private running = 0
  private waiting = false

  /**
   * A run starts one event-loop turn after it could: the finished run's callers write their replies first, and I/O
   * that arrived meanwhile queues its items. (Started at once, the next run mostly took the one or two items that
   * came in during the last: on PostgreSQL two statements in five carried a single message, each a full statement's
   * cost; an embedded store reads no request during its statements at all.)
   */
  constructor(
    private readonly run: (items: I[]) => Promise<(O | Error)[]>,
    private readonly slots: number,
    private readonly max: number,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject })
      this.next()
    })
  }

  private next(): void {
    if (this.waiting) return
    this.waiting = true
    setImmediate(() => {
      this.waiting = false
      this.start()
    })
  }

  private finished(): void {
    this.running--
    this.next()
  }

  private start(): void {
    while (this.running < this.slots && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.max)
      this.running++
      this.run(batch.map((b) => b.item)).then(
        (out) => {
          this.finished()
          batch.forEach((b, i) => (out[i] instanceof Error ? b.reject(out[i]) : b.resolve(out[i] as O)))
        },
        (err) => {
          this.finished()
          batch.forEach((b) => b.reject(err))
        },
      )
    }
  }
}
