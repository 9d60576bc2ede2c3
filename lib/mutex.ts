/** Per-key FIFO mutex for one process. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>()

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>((r) => (release = r))
    const tail = prev.then(() => mine)
    this.tails.set(key, tail)
    await prev
    try {
      return await fn()
    } finally {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}

/** At most `size` callers inside at once; the rest wait in FIFO order (O(1) per call, however long it runs). */
export class Gate {
  private inside = 0
  private queue: ((() => void) | undefined)[] = []
  private head = 0

  constructor(readonly size: number) {}

  /** Callers waiting for a place. */
  get waiting(): number {
    return this.queue.length - this.head
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inside < this.size) this.inside++
    else await new Promise<void>((resolve) => this.queue.push(resolve))
    try {
      return await fn()
    } finally {
      this.leave()
    }
  }

  private leave() {
    if (this.head === this.queue.length) {
      this.inside--
      return
    }
    const next = this.queue[this.head]!
    this.queue[this.head++] = undefined
    if (this.head === this.queue.length || this.head >= 1024) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    next() // the place passes straight to the next caller
  }
}
