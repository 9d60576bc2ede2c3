// Object enumeration for a fetch: objects reachable from wants minus what the client has
// (the equivalent of `git rev-list --objects wants ^haves`), honouring shallow boundaries.
import { MaxHeap } from './heap.ts'
import { isGitlink, isTreeMode, parseCommit, parseTag, parseTree } from './objects.ts'
import type { Commit, TreeEntry } from './objects.ts'
import type { ObjectStore } from './odb.ts'

export class Walker {
  private commits = new Map<string, Commit>()

  constructor(readonly odb: ObjectStore) {}

  commit(oid: string): Commit {
    let c = this.commits.get(oid)
    if (!c) {
      const o = this.odb.read(oid)
      if (!o || o.type !== 'commit') throw new Error(`not a commit: ${oid}`)
      c = parseCommit(o.data)
      this.commits.set(oid, c)
    }
    return c
  }

  tree(oid: string): TreeEntry[] {
    const o = this.odb.read(oid)
    if (!o || o.type !== 'tree') throw new Error(`not a tree: ${oid}`)
    return parseTree(o.data)
  }

  /** Follows tags; returns the final object id and type, adding tag ids to `out`. */
  peel(oid: string, out?: Set<string>): { oid: string; type: string } | null {
    for (let i = 0; i < 100; i++) {
      const o = this.odb.read(oid)
      if (!o) return null
      if (o.type !== 'tag') return { oid, type: o.type }
      out?.add(oid)
      oid = parseTag(o.data).object
    }
    return null
  }
}

export interface EnumerateRequest {
  wants: string[]
  haves: string[]
  /** Commits the client has without their parents. */
  clientShallow: Set<string>
  /** Client shallow commits whose parents it now receives. */
  unshallow: Set<string>
  /** Commits whose parents are not sent (new shallow boundary), and the allowed window if deepening. */
  boundary: Set<string>
  window?: Set<string>
}

const INT = 1
const UNINT = 2

export function enumerateObjects(w: Walker, req: EnumerateRequest): Set<string> {
  const out = new Set<string>()
  const wantCommits: string[] = []
  for (const want of req.wants) {
    const p = w.peel(want, out)
    if (!p) throw new Error(`unknown object ${want}`)
    if (p.type === 'commit') wantCommits.push(p.oid)
    else if (p.type === 'tree') fullTree(w, p.oid, out)
    else out.add(p.oid)
  }

  // Commit walk, newest first, until only uninteresting commits remain queued.
  const flags = new Map<string, number>()
  const heap = new MaxHeap<string>()
  let interesting = 0
  const popped = new Set<string>()
  const push = (c: string, f: number) => {
    const cur = flags.get(c)
    if (cur === UNINT || cur === f) return
    if (cur === INT) {
      if (popped.has(c)) return
      flags.set(c, UNINT)
      interesting--
      return
    }
    flags.set(c, f)
    if (f === INT) interesting++
    heap.push(w.commit(c).time, c)
  }
  for (const h of req.haves) {
    const p = w.peel(h)
    if (p?.type === 'commit') push(p.oid, UNINT)
  }
  for (const c of req.clientShallow) if (w.odb.has(c)) push(c, UNINT)
  for (const c of wantCommits) push(c, INT)
  // The client gets the history behind commits it stops being shallow at.
  for (const c of req.unshallow) for (const p of parentsOf(w, c, req)) push(p, INT)

  const sent: string[] = []
  while (heap.size && interesting > 0) {
    const c = heap.pop()!
    if (popped.has(c)) continue
    popped.add(c)
    const f = flags.get(c)!
    const parents = parentsOf(w, c, req)
    if (f === UNINT) {
      if (!req.clientShallow.has(c)) for (const p of parents) push(p, UNINT)
      continue
    }
    interesting--
    if (!req.clientShallow.has(c)) {
      sent.push(c)
      out.add(c)
    }
    if (!req.clientShallow.has(c) || req.unshallow.has(c)) for (const p of parents) push(p, INT)
  }

  // Trees: diff each sent commit against a parent the client will have.
  for (const c of sent) {
    const tree = w.commit(c).tree
    const parents = req.boundary.has(c) ? [] : parentsOf(w, c, req)
    const base = parents.find((p) => flags.has(p))
    if (base) diffTree(w, tree, w.commit(base).tree, out)
    else fullTree(w, tree, out)
  }
  return out
}

function parentsOf(w: Walker, c: string, req: EnumerateRequest): string[] {
  if (req.boundary.has(c)) return []
  const ps = w.commit(c).parents
  return req.window ? ps.filter((p) => req.window!.has(p)) : ps
}

function fullTree(w: Walker, oid: string, out: Set<string>): void {
  if (out.has(oid)) return
  out.add(oid)
  for (const e of w.tree(oid)) {
    if (isGitlink(e.mode)) continue
    if (isTreeMode(e.mode)) fullTree(w, e.oid, out)
    else out.add(e.oid)
  }
}

/** Adds objects of `tree` that differ from `base` (same path); identical subtrees are skipped unread. */
function diffTree(w: Walker, tree: string, base: string, out: Set<string>): void {
  if (tree === base || out.has(tree)) return
  out.add(tree)
  const old = new Map(w.tree(base).map((e) => [e.name, e]))
  for (const e of w.tree(tree)) {
    if (isGitlink(e.mode)) continue
    const prev = old.get(e.name)
    if (prev?.oid === e.oid) continue
    if (isTreeMode(e.mode)) {
      if (prev && isTreeMode(prev.mode)) diffTree(w, e.oid, prev.oid, out)
      else fullTree(w, e.oid, out)
    } else out.add(e.oid)
  }
}
