// Text of the room-bot notice after a push: new commits per updated branch.
import { MaxHeap } from './heap.ts'
import { commitSubject, ZERO_OID } from './objects.ts'
import type { ObjectStore } from './odb.ts'
import { Walker } from './walk.ts'

export interface AppliedUpdate {
  name: string
  old: string
  new: string
}

/** Commits reachable from `tip` but not from `exclude`, newest first (at most `limit`). */
export function newCommits(odb: ObjectStore, tip: string, exclude: string[], limit: number): { ids: string[]; more: boolean } {
  const w = new Walker(odb)
  const flag = new Map<string, boolean>()
  const heap = new MaxHeap<string>()
  let live = 0
  const popped = new Set<string>()
  const push = (c: string, uninteresting: boolean) => {
    const cur = flag.get(c)
    if (cur === true || cur === uninteresting || popped.has(c)) return
    if (cur === false) live--
    flag.set(c, uninteresting)
    if (!uninteresting) live++
    if (cur === undefined) heap.push(w.commit(c).time, c)
  }
  for (const e of exclude) {
    const p = w.peel(e)
    if (p?.type === 'commit') push(p.oid, true)
  }
  push(tip, false)
  const ids: string[] = []
  while (heap.size && live > 0) {
    const c = heap.pop()!
    popped.add(c)
    const unint = flag.get(c)!
    if (!unint) {
      live--
      if (ids.length >= limit) return { ids, more: true }
      ids.push(c)
    }
    for (const p of w.commit(c).parents) push(p, unint)
  }
  return { ids, more: false }
}

/**
 * One line per updated ref, e.g. `Git push to main — 2 commit(s): Fix x; Add y`, or with the agent whose
 * token made the push: `Git push to main by alice — 2 commit(s): …`, `Git push by alice: deleted branch x`.
 */
export function summarizePush(odb: ObjectStore, updates: AppliedUpdate[], refsBefore: string[], by?: string): string {
  const lines: string[] = []
  const agent = by ? ` by ${by}` : ''
  for (const u of updates) {
    const short = u.name.replace(/^refs\/(heads|tags)\//, '')
    if (u.new === ZERO_OID) {
      lines.push(`Git push${agent}: deleted ${u.name.startsWith('refs/tags/') ? 'tag' : 'branch'} ${short}`)
      continue
    }
    if (!u.name.startsWith('refs/heads/')) {
      lines.push(`Git push${agent}: ${u.name.startsWith('refs/tags/') ? 'tag' : 'ref'} ${short}`)
      continue
    }
    const exclude = u.old === ZERO_OID ? refsBefore : [u.old]
    const { ids, more } = newCommits(odb, u.new, exclude, 50)
    const subjects = ids.slice(0, 3).map((id) => commitSubject(odb.read(id)!.data))
    const rest = more || ids.length > 3 ? ' …' : ''
    const count = more ? `${ids.length}+` : `${ids.length}`
    lines.push(`Git push to ${short}${agent} — ${count} commit(s)${subjects.length ? `: ${subjects.join('; ')}${rest}` : ''}`)
  }
  return lines.join('\n')
}
