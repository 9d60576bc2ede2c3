// upload-pack over stateless RPC: protocol v0/v1 negotiation and protocol v2 commands.
import { band, DELIM, FLUSH, pkt, PktReader, ProtocolError, text } from './pktline.ts'
import { headTarget, listRefs, readRef, validRefShorthand } from './refs.ts'
import { refsWithPeeled } from './advertise.ts'
import type { Repo } from './repo.ts'
import { isOid } from './objects.ts'
import { deepenWindow } from './shallow.ts'
import type { DeepenRequest } from './shallow.ts'
import { enumerateObjects, ReachableCommits, Walker } from './walk.ts'
import { storedCount, storedObjects, writePack } from './pack-writer.ts'

interface FetchArgs {
  wants: string[]
  haves: string[]
  shallow: Set<string>
  deepen: DeepenRequest
  deepenNotRefs: string[]
  /** Depth counts from the client's current shallow commits. */
  deepenRelative: boolean
  done: boolean
  sideband: boolean
  ofsDelta: boolean
  includeTag: boolean
}

const newArgs = (): FetchArgs => ({
  wants: [],
  haves: [],
  shallow: new Set(),
  deepen: {},
  deepenNotRefs: [],
  deepenRelative: false,
  done: false,
  sideband: true,
  ofsDelta: false,
  includeTag: false,
})

const isDeepen = (a: FetchArgs) => a.deepen.depth !== undefined || a.deepen.since !== undefined || a.deepenNotRefs.length > 0

/** Client text quoted in an error: escaped and cut short. */
const quote = (s: string) => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s)

/** Parses want/shallow/deepen lines shared by v0 and v2; false if the line is something else. */
function parseShared(line: string, a: FetchArgs): boolean {
  const sp = line.indexOf(' ')
  const word = sp < 0 ? line : line.slice(0, sp)
  const arg = sp < 0 ? '' : line.slice(sp + 1)
  if (word === 'want' || word === 'have' || word === 'shallow') {
    if (!isOid(arg)) throw new ProtocolError(`invalid ${word} line`)
    if (word === 'want') a.wants.push(arg)
    else if (word === 'have') a.haves.push(arg)
    else a.shallow.add(arg)
  } else if (word === 'deepen') {
    // git's own bound: a positive int
    if (!/^[1-9][0-9]{0,9}$/.test(arg) || Number(arg) > 2 ** 31 - 1) throw new ProtocolError(`invalid deepen ${quote(arg)}: expected a positive depth`)
    a.deepen.depth = Number(arg)
  } else if (word === 'deepen-since') {
    if (!/^[0-9]{1,15}$/.test(arg)) throw new ProtocolError(`invalid deepen-since ${quote(arg)}: expected seconds since the epoch`)
    a.deepen.since = Number(arg)
  } else if (word === 'deepen-not') {
    if (!validRefShorthand(arg)) throw new ProtocolError(`invalid deepen-not ${quote(arg)}: not a valid ref name`)
    a.deepenNotRefs.push(arg)
  } else if (line === 'deepen-relative') {
    a.deepenRelative = true
  } else return false
  return true
}

/** Resolves a checked name as git does (full, refs/, refs/tags/, refs/heads/, HEAD) among the repository's refs only. */
function resolveName(repo: Repo, refs: Map<string, string>, name: string): string | null {
  if (name === 'HEAD') return refs.get(headTarget(repo.dir)) ?? null
  for (const full of [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`]) {
    const oid = refs.get(full)
    if (oid) return oid
  }
  return null
}

interface ShallowPlan {
  lines: string[]
  boundary: Set<string>
  window?: Set<string>
  unshallow: Set<string>
}

function shallowPlan(repo: Repo, w: Walker, a: FetchArgs): ShallowPlan {
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
function unreachableWant(repo: Repo, w: Walker, wants: string[]): string | null {
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

/** The answer to wants that may not be served: an ERR line the client prints. */
const notOurRef = (oid: string) => pkt(`ERR upload-pack: not our ref ${oid}\n`)

/** Objects reachable from the wants minus what the client has: only what refs can reach is ever sent. */
function objectsToSend(w: Walker, a: FetchArgs, common: string[], sp: ShallowPlan, repo: Repo): Set<string> {
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

async function* packOutput(repo: Repo, objects: Set<string>, a: FetchArgs): AsyncGenerator<Buffer> {
  try {
    for (const chunk of writePack(repo.odb, objects, { ofsDelta: a.ofsDelta })) {
      if (a.sideband) yield Buffer.concat(band(1, chunk))
      else yield chunk
    }
  } catch (err) {
    // Tell the client why on the error band rather than just cutting the stream.
    if (a.sideband) yield Buffer.concat(band(3, Buffer.from(`error: ${(err as Error).message}\n`)))
    throw err
  }
  if (a.sideband) yield FLUSH
}

/** Haves the repository knows, in request order. */
function commonOf(repo: Repo, haves: string[]): string[] {
  return haves.filter((h) => repo.odb.has(h))
}

/** v0/v1 stateless request: wants, flush, then have rounds ending in flush or done. */
export async function* uploadPackV0(repo: Repo, body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const r = new PktReader(body)
  const a = newArgs()
  a.sideband = false
  let first = true
  for (;;) {
    const p = await r.read()
    if (p.kind !== 'data') break
    let line = text(p.data)
    if (first && line.startsWith('want ')) {
      const caps = line.slice(46).split(' ')
      line = line.slice(0, 45)
      a.sideband = caps.includes('side-band-64k') || caps.includes('side-band')
      a.ofsDelta = caps.includes('ofs-delta')
      a.includeTag = caps.includes('include-tag')
      a.deepenRelative = caps.includes('deepen-relative')
      first = false
    }
    if (!parseShared(line, a) || line.startsWith('have ')) throw new ProtocolError(`unexpected line ${quote(line)}`)
  }
  if (!a.wants.length) return
  const w = new Walker(repo.odb)
  const bad = unreachableWant(repo, w, a.wants)
  if (bad) {
    yield notOurRef(bad)
    return
  }
  const out: Buffer[] = []
  const shallowFirst = isDeepen(a)
  const common: string[] = []
  for (;;) {
    const p = await r.read()
    if (p.kind === 'end') break
    if (p.kind === 'flush') {
      out.push(pkt('NAK\n'))
      continue
    }
    if (p.kind !== 'data') throw new ProtocolError('unexpected delimiter')
    const line = text(p.data)
    if (line === 'done') {
      a.done = true
      break
    }
    if (!line.startsWith('have ') || !isOid(line.slice(5))) throw new ProtocolError(`unexpected line ${quote(line)}`)
    const have = line.slice(5)
    if (repo.odb.has(have)) {
      common.push(have)
      out.push(pkt(`ACK ${have} common\n`))
    }
  }
  const sp = shallowPlan(repo, w, a)
  if (shallowFirst) yield Buffer.concat([...sp.lines.map((l) => pkt(`${l}\n`)), FLUSH])
  if (!a.done) {
    if (out.length) yield Buffer.concat(out)
    return
  }
  const objects = objectsToSend(w, a, common, sp, repo)
  out.push(pkt(common.length ? `ACK ${common[common.length - 1]}\n` : 'NAK\n'))
  yield Buffer.concat(out)
  yield* packOutput(repo, objects, a)
}

/** More ref-prefix lines than this mean "all refs" (as in git), so matching stays cheap. */
const MAX_REF_PREFIXES = 256

/** v2 `ls-refs`. Prefixes only filter names already listed; they never reach the filesystem. */
function lsRefs(repo: Repo, args: string[]): Buffer[] {
  let prefixes: string[] = []
  for (const x of args) {
    if (x.startsWith('ref-prefix ')) prefixes.push(x.slice(11))
    else if (!['symrefs', 'peel', 'unborn'].includes(x)) throw new ProtocolError(`unexpected ls-refs argument ${quote(x)}`)
  }
  if (prefixes.length > MAX_REF_PREFIXES) prefixes = []
  const symrefs = args.includes('symrefs')
  const peel = args.includes('peel')
  const unborn = args.includes('unborn')
  const match = (n: string) => !prefixes.length || prefixes.some((p) => n.startsWith(p))
  const out: Buffer[] = []
  if (match('HEAD')) {
    const target = headTarget(repo.dir)
    const oid = readRef(repo.dir, target)
    const sym = symrefs ? ` symref-target:${target}` : ''
    if (oid) out.push(pkt(`${oid} HEAD${sym}\n`))
    else if (unborn) out.push(pkt(`unborn HEAD${sym}\n`))
  }
  for (const r of refsWithPeeled(repo)) {
    if (!match(r.name)) continue
    out.push(pkt(`${r.oid} ${r.name}${peel && r.peeled ? ` peeled:${r.peeled}` : ''}\n`))
  }
  out.push(FLUSH)
  return out
}

/** v2 request: `command=X`, capabilities, delimiter, arguments, flush. */
export async function* uploadPackV2(repo: Repo, body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const r = new PktReader(body)
  let command = ''
  for (;;) {
    const p = await r.read()
    if (p.kind === 'end' || p.kind === 'flush') {
      if (!command) return
      break
    }
    if (p.kind === 'delim') break
    const line = text(p.data)
    if (line.startsWith('command=')) command = line.slice(8)
  }
  const args: string[] = []
  for (;;) {
    const p = await r.read()
    if (p.kind !== 'data') break
    args.push(text(p.data))
  }
  if (command === 'ls-refs') {
    yield Buffer.concat(lsRefs(repo, args))
    return
  }
  if (command !== 'fetch') throw new ProtocolError(`unknown command ${quote(command)}`)
  const a = newArgs()
  for (const line of args) {
    if (parseShared(line, a)) continue
    if (line === 'done') a.done = true
    else if (line === 'ofs-delta') a.ofsDelta = true
    else if (line === 'include-tag') a.includeTag = true
    else if (['thin-pack', 'no-progress'].includes(line)) continue
    // ref-in-want is not advertised, so a want-ref is a client error whatever it names.
    else if (line.startsWith('want-ref ')) throw new ProtocolError('want-ref is not supported: this server does not advertise ref-in-want')
    else throw new ProtocolError(`unexpected fetch argument ${quote(line)}`)
  }
  const w = new Walker(repo.odb)
  const bad = unreachableWant(repo, w, a.wants)
  if (bad) {
    yield notOurRef(bad)
    return
  }
  const common = commonOf(repo, a.haves)
  const out: Buffer[] = []
  if (!a.done) {
    out.push(pkt('acknowledgments\n'))
    if (common.length) for (const c of common) out.push(pkt(`ACK ${c}\n`))
    else out.push(pkt('NAK\n'))
    out.push(FLUSH)
    yield Buffer.concat(out)
    return
  }
  const sp = shallowPlan(repo, w, a)
  const objects = objectsToSend(w, a, common, sp, repo)
  if (isDeepen(a) || a.shallow.size) out.push(pkt('shallow-info\n'), ...sp.lines.map((l) => pkt(`${l}\n`)), DELIM)
  out.push(pkt('packfile\n'))
  yield Buffer.concat(out)
  yield* packOutput(repo, objects, a)
}
