// Time bounds for the reliability tests' own waits: one budget for a test's waits, and a bound on any one promise.

/** A total budget for a test's waits: each wait gets what is left of it, at most its own cap. */
export class Budget {
  private readonly end: number
  constructor(ms: number) {
    this.end = Date.now() + ms
  }

  left(): number {
    return Math.max(0, this.end - Date.now())
  }

  /** An abort signal for one wait: capMs at most, never past the budget. */
  signal(capMs: number): AbortSignal {
    return AbortSignal.timeout(Math.max(1, Math.min(capMs, this.left())))
  }
}

/** Whether p settled (resolved or rejected) within ms. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)))
  try {
    return await Promise.race([p.then(() => true as const, () => true as const), late])
  } finally {
    clearTimeout(timer)
  }
}

