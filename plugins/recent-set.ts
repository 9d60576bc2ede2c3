/** A bounded set of recently seen keys: each is forgotten `ttlMs` after it was last added, the oldest first beyond `max`. */
export class RecentSet {
  private readonly seen = new Map<string, number>()

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  add(key: string, now = Date.now()): void {
    this.seen.delete(key)
    this.seen.set(key, now)
    if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!)
  }

  has(key: string, now = Date.now()): boolean {
    const at = this.seen.get(key)
    if (at === undefined) return false
    if (now - at <= this.ttlMs) return true
    this.seen.delete(key)
    return false
  }

  get size(): number {
    return this.seen.size
  }
}
