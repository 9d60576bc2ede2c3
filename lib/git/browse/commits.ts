// Commit walks for the repository browser and push notices: newest first by committer time, as `git log` lists them.
import { MaxHeap } from '../heap.ts'
import type { CommitObject, RepoReader } from './reader.ts'

export interface WalkedCommit {
  oid: string
  commit: CommitObject
}

/** First line of the commit message. */
export const subject = (c: CommitObject) => c.message.split('\n', 1)[0].trim()

const SEQ = 2 ** 20
/** Committer time first; among equal times the commit reached first (times beyond 2106 count as equal). */
const order = (c: CommitObject, seq: number) => Math.min(Math.max(Number(c.committer?.timestamp) || 0, 0), 2 ** 32) * SEQ + (SEQ - 1 - Math.min(seq, SEQ - 1))

/**
 * Commits reachable from `tip` and from none of `exclude` (tags are followed), newest first, at most `limit`;
 * `more` when others remain. With `missing: 'skip'`, a commit that cannot be read (a shallow, missing or oversized
 * parent) is left out with what lies behind it; with 'throw' it fails the walk.
 */
export async function walkCommits(
  r: RepoReader,
  tip: string,
  exclude: string[],
  limit: number,
  missing: 'skip' | 'throw',
): Promise<{ commits: WalkedCommit[]; more: boolean }> {
  /** true: reachable from an excluded commit. */
  const uninteresting = new Map<string, boolean>()
  const popped = new Set<string>()
  const skipped = new Set<string>()
  const heap = new MaxHeap<string>()
  let live = 0
  let seq = 0
  const push = async (oid: string, unint: boolean) => {
    const cur = uninteresting.get(oid)
    if (cur === true || cur === unint || popped.has(oid) || skipped.has(oid)) return
    if (cur === undefined) {
      const c = missing === 'skip' ? await r.commitIfReadable(oid) : await r.commit(oid)
      if (!c) {
        skipped.add(oid)
        return
      }
      heap.push(order(c, seq++), oid)
    } else live--
    uninteresting.set(oid, unint)
    if (!unint) live++
  }
  for (const e of exclude) {
    const p = await r.peel(e)
    if (p?.type === 'commit') await push(p.oid, true)
  }
  await push(tip, false)
  const commits: WalkedCommit[] = []
  while (heap.size && live > 0) {
    const oid = heap.pop()!
    popped.add(oid)
    const unint = uninteresting.get(oid)!
    const commit = await r.commit(oid)
    if (!unint) {
      live--
      if (commits.length >= limit) return { commits, more: true }
      commits.push({ oid, commit })
    }
    for (const p of commit.parent) await push(p, unint)
  }
  return { commits, more: false }
}
