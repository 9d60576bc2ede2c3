// What one fetch is sent: wants checked against what the refs reach, the shallow boundary, and the objects.
import { headTarget, listRefs } from './refs.ts'
import { refsWithPeeled } from './advertise.ts'
import type { Repo } from './repo.ts'
import { deepenWindow } from './shallow.ts'
import { enumerateObjects, ReachableCommits, Walker } from './walk.ts'
import { storedCount, storedObjects } from './pack-writer.ts'
import { ProtocolError } from './pktline.ts'
import { isDeepen, quote, type FetchArgs } from './fetch-args.ts'

/** Resolves a checked name as git does (full, refs/, refs/tags/, refs/heads/, HEAD) among the repository's refs only. */
function resolveName(repo: Repo, refs: Map<string, string>, name: string): string | null {
  if (name === 'HEAD') return refs.get(headTarget(repo.dir)) ?? null
  for (const full of [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`]) {
    const oid = refs.get(full)
    if (oid) return oid
  }
  return null
}

export interface ShallowPlan {
  lines: string[]
  boundary: Set<string>
  window?: Set<string>
  unshallow: Set<string>
}

export function shallowPlan(repo: Repo, w: Walker, a: FetchArgs): ShallowPlan {
  const sp: ShallowPlan = { lines: [], boundary: new Set(), unshallow: new Set() }
  if (!isDeepen(a)) return sp
  const wantCommits: string[] = []
  for (const want of a.wants) {
    const p = w.peel(want)
    if (!p) throw new ProtocolError(`not our ref ${want}`)
    if (p.type === 'commit') wantCommits.push(p.oid)
  }
  const notFrom: string[] = []
  const refs = a.deepenNotRefs.length ? new Map(listRefs(repo.dir).map((r) => [r.name, r.oid])) : new Map<string, string>()
  for (const n of a.deepenNotRefs) {
    const oid = resolveName(repo, refs, n)
    if (!oid) throw new ProtocolError(`deepen-not: unknown ref ${quote(n)}`)
    const p = w.peel(oid)
    if (p?.type === 'commit') notFrom.push(p.oid)
  }
  const relative = a.deepenRelative && a.deepen.depth !== undefined
  // Deepening from the client's shallow commits starts only at those the refs reach (as git does).
  const from = () => [...a.shallow].filter((c) => repo.odb.has(c) && reachableCommits(repo, w).has(w, c))
  const win = relative
    ? deepenWindow(from(), { depth: a.deepen.depth! + 1 }, (c) => w.commit(c))
    : deepenWindow(wantCommits, { ...a.deepen, notFrom }, (c) => w.commit(c))
  sp.boundary = win.boundary
  // Relative deepening only moves the boundary; new commits above the client's tips are not limited.
  sp.window = relative ? undefined : win.commits
  for (const c of win.boundary) if (!a.shallow.has(c)) sp.lines.push(`shallow ${c}`)
  for (const c of a.shallow) {
    if (win.commits.has(c) && !win.boundary.has(c)) {
      sp.lines.push(`unshallow ${c}`)
      sp.unshallow.add(c)
    }
  }
  return sp
}

const reachableByRepo = new WeakMap<Repo, ReachableCommits>()
/** Per repository: the refs and packs under which every stored object was reachable from the tips. */
const allReachable = new WeakMap<Repo, string>()

/**
 * The first want that is neither a ref tip (or a tag or object a tip peels through) nor a commit reachable
 * from one, as git's uploadpack.allowReachableSHA1InWant; null when every want may be served.
 */
export function unreachableWant(repo: Repo, w: Walker, wants: string[]): string | null {
  const refs = refsWithPeeled(repo)
  const tips = new Set<string>()
  for (const r of refs) tips.add(r.oid).add(r.peeled ?? r.oid)
  let rest = wants.filter((x) => !tips.has(x))
  if (!rest.length) return null
  for (const r of refs) if (r.peeled) w.peel(r.oid, tips)
  rest = rest.filter((x) => !tips.has(x))
  if (!rest.length) return null
  const reach = reachableCommits(repo, w, refs)
  return rest.find((x) => !reach.has(w, x)) ?? null
}

/** Commits reachable from the current refs, walked lazily and kept while the refs stay the same. */
function reachableCommits(repo: Repo, w: Walker, refs = refsWithPeeled(repo)): ReachableCommits {
  const key = refs.map((r) => `${r.oid} ${r.name}`).join('\n')
  let reach = reachableByRepo.get(repo)
  if (reach?.key !== key) {
    reach = new ReachableCommits(key, new Set(refs.map((r) => r.peeled ?? r.oid)), w)
    reachableByRepo.set(repo, reach)
  }
  return reach
}

/** Objects reachable from the wants minus what the client has: only what refs can reach is ever sent. */
export function objectsToSend(w: Walker, a: FetchArgs, common: string[], sp: ShallowPlan, repo: Repo): Set<string> {
  // A clone of every tip: when a walk has found every stored object reachable under these very refs and
  // packs, the stored objects are the answer again (the first clone after a change pays the walk).
  let state: string | null = null
  if (!common.length && !a.shallow.size && !isDeepen(a)) {
    const refs = refsWithPeeled(repo)
    const tips = new Set(refs.map((r) => r.oid))
    const wants = new Set(a.wants)
    if (tips.size === wants.size && [...tips].every((t) => wants.has(t))) {
      state = [...refs.map((r) => `${r.oid} ${r.name}`), ...repo.odb.packs.map((p) => p.path), repo.odb.looseIds().length].join('\n')
      if (allReachable.get(repo) === state) return storedObjects(repo.odb)
    }
  }
  const objects = enumerateObjects(w, {
    wants: a.wants,
    haves: common,
    clientShallow: a.shallow,
    unshallow: sp.unshallow,
    boundary: sp.boundary,
    window: sp.window,
  })
  if (a.includeTag) {
    for (const r of refsWithPeeled(repo)) if (r.peeled && objects.has(r.peeled)) w.peel(r.oid, objects)
  }
  if (state !== null && objects.size === storedCount(repo.odb)) allReachable.set(repo, state)
  return objects
}
