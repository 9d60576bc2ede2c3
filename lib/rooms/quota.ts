/** At most `max` takes per key in any `windowMs` (0: unlimited). In memory, so per instance. */
export class SlidingWindow {
  private readonly hits = new Map<string, number[]>()

  constructor(
    readonly max: number,
    private readonly windowMs: number,
  ) {}

  take(key: string, now: number): boolean {
    if (this.max <= 0) return true
    const since = now - this.windowMs
    const recent = (this.hits.get(key) ?? []).filter((t) => t > since)
    if (recent.length >= this.max) {
      this.hits.set(key, recent)
      return false
    }
    recent.push(now)
    this.hits.set(key, recent)
    if (this.hits.size > 10_000) this.prune(since)
    return true
  }

  private prune(since: number) {
    for (const [k, v] of this.hits) if (v.every((t) => t <= since)) this.hits.delete(k)
  }
}
