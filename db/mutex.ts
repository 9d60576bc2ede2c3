// In-process locks and queues: a per-key mutex, a FIFO queue and a gate that lets N callers in at once.
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

/** First in, first out, O(1) per operation however long it runs. */
export class Fifo<T> {
  private items: (T | undefined)[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(item: T): void {
    this.items.push(item)
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }
}

/** At most `size` callers inside at once; the rest wait in FIFO order. */
export class Gate {
  private inside = 0
  private readonly queue = new Fifo<() => void>()

  constructor(readonly size: number) {}

  /** Callers waiting for a place. */
  get waiting(): number {
    return this.queue.length
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inside < this.size) this.inside++
    else await new Promise<void>((resolve) => this.queue.push(resolve))
    try {
      return await fn()
    } finally {
      const next = this.queue.shift()
      if (next) next() // the place passes straight to the next caller
      else this.inside--
    }
  }
}
