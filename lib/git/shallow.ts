// Shallow boundaries for deepen / deepen-since / deepen-not requests.
import type { Commit } from './objects.ts'

export interface DeepenRequest {
  depth?: number
  /** Seconds since the epoch. */
  since?: number
  /** Commits whose history is excluded. */
  notFrom?: string[]
}

export interface Window {
  /** Commits the client may receive. */
  commits: Set<string>
  /** Commits in the window with a parent outside it. */
  boundary: Set<string>
}

type Reader = (oid: string) => Commit

function closure(starts: string[], read: Reader): Set<string> {
  const seen = new Set<string>()
  const todo = [...starts]
  while (todo.length) {
    const c = todo.pop()!
    if (seen.has(c)) continue
    seen.add(c)
    todo.push(...read(c).parents)
  }
  return seen
}

export function deepenWindow(wants: string[], req: DeepenRequest, read: Reader): Window {
  const commits = new Set<string>()
  const boundary = new Set<string>()
  if (req.depth !== undefined) {
    // Breadth-first so each commit gets its smallest depth.
    let level = [...new Set(wants)]
    for (let d = 1; level.length; d++) {
      const next: string[] = []
      for (const c of level) commits.add(c)
      for (const c of level) {
        const parents = read(c).parents
        if (d >= req.depth) {
          if (parents.length) boundary.add(c)
          continue
        }
        for (const p of parents) if (!commits.has(p)) next.push(p)
      }
      level = [...new Set(next)].filter((c) => !commits.has(c))
    }
    return { commits, boundary }
  }
  const excluded = req.notFrom?.length ? closure(req.notFrom, read) : new Set<string>()
  const keep = (c: string) => !excluded.has(c) && (req.since === undefined || read(c).time >= req.since)
  const todo = wants.filter((c) => !excluded.has(c))
  while (todo.length) {
    const c = todo.pop()!
    if (commits.has(c)) continue
    commits.add(c)
    for (const p of read(c).parents) {
      if (keep(p)) todo.push(p)
      else boundary.add(c)
    }
  }
  return { commits, boundary }
}
