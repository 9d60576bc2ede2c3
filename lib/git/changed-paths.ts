// The paths a ref update changes, checked one by one against per-path rules (leases): new commits against their parents.
import { parseCommit, parseTree, isTreeMode, type TreeEntry } from './objects.ts'
import type { ReadObject } from './ancestry.ts'

/** Why a push may not change `path`; null when it may. */
export type PathRefusal = (path: string) => string | null

class Unreadable extends Error {}

function entries(read: ReadObject, tree: string | null): Map<string, TreeEntry> {
  if (tree === null) return new Map()
  const o = read(tree)
  if (o?.type !== 'tree') throw new Unreadable(tree)
  return new Map(parseTree(o.data).map((e) => [e.name, e]))
}

/** Calls `visit` with every path that differs between two trees (null: empty), files and links only; stops when it returns true. */
function diffTrees(read: ReadObject, a: string | null, b: string | null, visit: (path: string) => boolean): boolean {
  const stack: [string | null, string | null, string][] = [[a, b, '']]
  while (stack.length) {
    const [x, y, prefix] = stack.pop()!
    if (x === y) continue
    const [ex, ey] = [entries(read, x), entries(read, y)]
    for (const name of new Set([...ex.keys(), ...ey.keys()])) {
      const [l, r] = [ex.get(name), ey.get(name)]
      if (l && r && l.oid === r.oid && l.mode === r.mode) continue
      const path = `${prefix}${name}`
      const [lt, rt] = [l && isTreeMode(l.mode) ? l.oid : null, r && isTreeMode(r.mode) ? r.oid : null]
      if (lt !== null || rt !== null) stack.push([lt, rt, `${path}/`])
      // a file (or link, or submodule) on either side changed, appeared or went
      if ((l && lt === null) || (r && rt === null)) if (visit(path)) return true
    }
  }
  return false
}

function commit(read: ReadObject, oid: string) {
  const o = read(oid)
  if (o?.type !== 'commit') throw new Unreadable(oid)
  return parseCommit(o.data)
}

/** The paths `tree` changes against every one of `parents` (a merge changes what none of its parents had). */
function changedAgainstAll(read: ReadObject, tree: string, parents: string[], visit: (path: string) => boolean): boolean {
  if (parents.length <= 1) return diffTrees(read, parents[0] ?? null, tree, visit)
  const [first, ...rest] = parents
  const candidates: string[] = []
  diffTrees(read, first, tree, (p) => (candidates.push(p), false))
  let left = new Set(candidates)
  for (const other of rest) {
    const also = new Set<string>()
    diffTrees(read, other, tree, (p) => (left.has(p) && also.add(p), false))
    left = also
  }
  for (const p of left) if (visit(p)) return true
  return false
}

/**
 * The first refusal among the paths an update from `old` (null: a new ref) to `tip` changes: every commit the push
 * brings (`isNew`) against its parents, and for a rewrite the old tip's tree against the new one. Objects that cannot
 * be read make the update unverifiable, which is a refusal too.
 */
export function firstPathRefusal(read: ReadObject, isNew: (oid: string) => boolean, tip: string, old: string | null, refuse: PathRefusal): string | null {
  let found: string | null = null
  const visit = (path: string) => (found = refuse(path)) !== null
  try {
    const seen = new Set<string>()
    const todo = isNew(tip) ? [tip] : []
    while (todo.length) {
      const oid = todo.pop()!
      if (seen.has(oid)) continue
      seen.add(oid)
      const c = commit(read, oid)
      const parentTrees = c.parents.map((p) => commit(read, p).tree)
      if (changedAgainstAll(read, c.tree, parentTrees, visit)) return found
      for (const p of c.parents) if (isNew(p) && !seen.has(p)) todo.push(p)
    }
    if (old !== null && diffTrees(read, commit(read, old).tree, commit(read, tip).tree, visit)) return found
  } catch (err) {
    if (err instanceof Unreadable) return `cannot check the paths it changes (object ${err.message} unreadable)`
    throw err
  }
  return null
}
