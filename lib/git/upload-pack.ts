// upload-pack over stateless RPC: protocol v0/v1 negotiation and protocol v2 commands.
import { band, DELIM, FLUSH, pkt, PktReader, ProtocolError, text } from './pktline.ts'
import { headTarget, readRef } from './refs.ts'
import { refsWithPeeled } from './advertise.ts'
import type { Repo } from './repo.ts'
import { isOid } from './objects.ts'
import { deepenWindow } from './shallow.ts'
import type { DeepenRequest } from './shallow.ts'
import { enumerateObjects, Walker } from './walk.ts'
import { allObjects, writePack } from './pack-writer.ts'

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

/** Parses want/shallow/deepen lines shared by v0 and v2; false if the line is something else. */
function parseShared(line: string, a: FetchArgs): boolean {
  const [word, arg = ''] = line.split(' ', 2)
  if (word === 'want' || word === 'have' || word === 'shallow') {
    if (!isOid(arg)) throw new ProtocolError(`invalid ${word} line`)
    if (word === 'want') a.wants.push(arg)
    else if (word === 'have') a.haves.push(arg)
    else a.shallow.add(arg)
  } else if (word === 'deepen') {
    const n = Number(arg)
    if (!Number.isInteger(n) || n <= 0) throw new ProtocolError('invalid deepen')
    a.deepen.depth = n
  } else if (word === 'deepen-since') {
    const n = Number(arg)
    if (!Number.isFinite(n)) throw new ProtocolError('invalid deepen-since')
    a.deepen.since = n
  } else if (word === 'deepen-not') {
    a.deepenNotRefs.push(arg)
  } else if (line === 'deepen-relative') {
    a.deepenRelative = true
  } else return false
  return true
}

function resolveName(repo: Repo, name: string): string | null {
  for (const full of [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`]) {
    const oid = full.startsWith('refs/') ? readRef(repo.dir, full) : null
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
  for (const n of a.deepenNotRefs) {
    const oid = resolveName(repo, n)
    if (!oid) throw new ProtocolError(`git upload-pack: ambiguous argument '${n}'`)
    const p = w.peel(oid)
    if (p?.type === 'commit') notFrom.push(p.oid)
  }
  const relative = a.deepenRelative && a.deepen.depth !== undefined
  const win = relative
    ? deepenWindow([...a.shallow].filter((c) => repo.odb.has(c)), { depth: a.deepen.depth! + 1 }, (c) => w.commit(c))
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

function objectsToSend(repo: Repo, w: Walker, a: FetchArgs, common: string[], sp: ShallowPlan): Set<string> {
  for (const want of a.wants) if (!repo.odb.has(want)) throw new ProtocolError(`not our ref ${want}`)
  let objects: Set<string>
  // A clone of everything: send every stored object, no walk needed.
  if (!common.length && !a.shallow.size && !isDeepen(a)) objects = allObjects(repo.odb)
  else {
    objects = enumerateObjects(w, {
      wants: a.wants,
      haves: common,
      clientShallow: a.shallow,
      unshallow: sp.unshallow,
      boundary: sp.boundary,
      window: sp.window,
    })
  }
  if (a.includeTag) {
    for (const r of refsWithPeeled(repo)) if (r.peeled && objects.has(r.peeled)) w.peel(r.oid, objects)
  }
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
    if (!parseShared(line, a) || line.startsWith('have ')) throw new ProtocolError(`unexpected line: ${line}`)
  }
  if (!a.wants.length) return
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
    if (!line.startsWith('have ') || !isOid(line.slice(5))) throw new ProtocolError(`unexpected line: ${line}`)
    const have = line.slice(5)
    if (repo.odb.has(have)) {
      common.push(have)
      out.push(pkt(`ACK ${have} common\n`))
    }
  }
  const w = new Walker(repo.odb)
  const sp = shallowPlan(repo, w, a)
  if (shallowFirst) yield Buffer.concat([...sp.lines.map((l) => pkt(`${l}\n`)), FLUSH])
  if (!a.done) {
    if (out.length) yield Buffer.concat(out)
    return
  }
  const objects = objectsToSend(repo, w, a, common, sp)
  out.push(pkt(common.length ? `ACK ${common[common.length - 1]}\n` : 'NAK\n'))
  yield Buffer.concat(out)
  yield* packOutput(repo, objects, a)
}

/** v2 `ls-refs`. */
function lsRefs(repo: Repo, args: string[]): Buffer[] {
  const prefixes = args.filter((x) => x.startsWith('ref-prefix ')).map((x) => x.slice(11))
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
  if (command !== 'fetch') throw new ProtocolError(`unknown command ${command}`)
  const a = newArgs()
  for (const line of args) {
    if (parseShared(line, a)) continue
    if (line === 'done') a.done = true
    else if (line === 'ofs-delta') a.ofsDelta = true
    else if (line === 'include-tag') a.includeTag = true
    else if (['thin-pack', 'no-progress'].includes(line)) continue
    else throw new ProtocolError(`unexpected fetch argument: ${line}`)
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
  const w = new Walker(repo.odb)
  const sp = shallowPlan(repo, w, a)
  const objects = objectsToSend(repo, w, a, common, sp)
  if (isDeepen(a) || a.shallow.size) out.push(pkt('shallow-info\n'), ...sp.lines.map((l) => pkt(`${l}\n`)), DELIM)
  out.push(pkt('packfile\n'))
  yield Buffer.concat(out)
  yield* packOutput(repo, objects, a)
}
