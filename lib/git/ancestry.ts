// Fast-forward test: is the old tip an ancestor of the new one? A bounded walk from the new tip, newest first.
import { MaxHeap } from './heap.ts'
import { parseCommit } from './objects.ts'
import type { Commit } from './objects.ts'
import type { GitObject } from './odb.ts'

export type ReadObject = (oid: string) => GitObject | null

/** Committer dates may be skewed: the walk goes this far past the old commit's date before it gives up. */
const SKEW_SECONDS = 86_400
const MAX_COMMITS = 100_000

function readCommit(read: ReadObject, oid: string): Commit | null {
  const o = read(oid)
  if (o?.type !== 'commit') return null
  try {
    return parseCommit(o.data)
  } catch {
    return null
  }
}

/**
 * True only when `old` is `tip` or reachable from it through parents. Not a commit, not found within
 * `maxCommits` commits, or only older commits (by date, less a day of skew) left to look at: false, so an
 * undecided case is a rewrite and never a fast-forward.
 */
export function isAncestor(read: ReadObject, old: string, tip: string, maxCommits = MAX_COMMITS): boolean {
  const base = readCommit(read, old)
  if (!base) return false
  if (old === tip) return true
  const cutoff = base.time - SKEW_SECONDS
  const heap = new MaxHeap<{ oid: string; parents: string[] }>()
  const seen = new Set<string>([tip])
  const first = readCommit(read, tip)
  if (!first) return false
  heap.push(first.time, { oid: tip, parents: first.parents })
  for (let walked = 0; heap.size && walked < maxCommits; walked++) {
    const { oid, parents } = heap.pop()!
    if (oid === old) return true
    for (const p of parents) {
      if (seen.has(p)) continue
      seen.add(p)
      if (p === old) return true
      const c = readCommit(read, p)
      if (c && c.time >= cutoff) heap.push(c.time, { oid: p, parents: c.parents })
    }
  }
  return false
}
