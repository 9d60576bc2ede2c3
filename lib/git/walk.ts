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

  // Nothing the client has: each tree once, skipping what was already seen (fewest tree reads).
  if (![...flags.values()].includes(UNINT)) {
    for (const c of sent) fullTree(w, w.commit(c).tree, out)
    return out
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
  const o = w.odb.read(oid)
  if (!o || o.type !== 'tree') throw new Error(`not a tree: ${oid}`)
  const data = o.data
  // Entries read in place (`<mode> <name>\0<20-byte id>`): names are never decoded.
  for (let p = 0; p < data.length; ) {
    const nul = data.indexOf(0, p)
    if (nul < 0 || nul + 21 > data.length) throw new Error('malformed tree')
    const id = data.toString('hex', nul + 1, nul + 21)
    // Modes: 40000 (tree), 160000 (gitlink), 100644/100755/120000 (blobs).
    const tree = data[p] === 0x34 || (data[p] === 0x30 && data[p + 1] === 0x34)
    const gitlink = data[p] === 0x31 && data[p + 1] === 0x36
    if (tree) fullTree(w, id, out)
    else if (!gitlink) out.add(id)
    p = nul + 21
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

/**
 * Commits reachable from a fixed set of tips, walked newest first only as far as a question needs;
 * what was walked is kept, so one instance can serve every fetch made against the same ref state.
 */
export class ReachableCommits {
  private seen = new Set<string>()
  private heap = new MaxHeap<string>()

  constructor(
    /** The ref state the tips were read from. */
    readonly key: string,
    tips: Iterable<string>,
    w: Walker,
  ) {
    for (const c of tips) this.add(w, c)
  }

  private add(w: Walker, c: string): void {
    if (this.seen.has(c)) return
    this.seen.add(c)
    let time: number
    try {
      time = w.commit(c).time
    } catch {
      return // a missing or non-commit parent: nothing behind it to walk
    }
    this.heap.push(time, c)
  }

  has(w: Walker, oid: string): boolean {
    while (!this.seen.has(oid) && this.heap.size) {
      for (const p of w.commit(this.heap.pop()!).parents) this.add(w, p)
    }
    return this.seen.has(oid)
  }
}

const yieldEvery = 4096
const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Adds to `seen` every object reachable from `roots` (gitlinks are not followed). A missing object
 * throws when `missing` is 'throw' and is skipped otherwise. Yields to the event loop as it goes.
 */
export async function markReachable(w: Walker, roots: Iterable<string>, seen: Set<string>, missing: 'throw' | 'skip'): Promise<void> {
  const stack: string[] = []
  for (const r of roots) if (!seen.has(r)) stack.push(r)
  let n = 0
  while (stack.length) {
    const oid = stack.pop()!
    if (seen.has(oid)) continue
    if (++n % yieldEvery === 0) await tick()
    const o = w.odb.read(oid)
    if (!o) {
      if (missing === 'throw') throw new Error(`missing object ${oid}`)
      continue
    }
    seen.add(oid)
    if (o.type === 'commit') {
      const c = parseCommit(o.data)
      stack.push(c.tree, ...c.parents)
    } else if (o.type === 'tag') stack.push(parseTag(o.data).object)
    else if (o.type === 'tree') {
      for (const e of parseTree(o.data)) {
        if (isGitlink(e.mode) || seen.has(e.oid)) continue
        if (isTreeMode(e.mode)) stack.push(e.oid)
        else if (w.odb.has(e.oid)) seen.add(e.oid)
        else if (missing === 'throw') throw new Error(`missing object ${e.oid}`)
      }
    }
  }
}
