// upload-pack over stateless RPC: protocol v0/v1 negotiation and protocol v2 commands.
import { band, DELIM, FLUSH, pkt, PktReader, ProtocolError, text } from './pktline.ts'
import type { Repo } from './repo.ts'
import { isOid } from './objects.ts'
import { Walker } from './walk.ts'
import { writePack } from './pack-writer.ts'
import { isDeepen, newArgs, parseShared, quote, type FetchArgs } from './fetch-args.ts'
import { objectsToSend, shallowPlan, unreachableWant } from './fetch-plan.ts'
import { lsRefs } from './ls-refs.ts'

/** The answer to wants that may not be served: an ERR line the client prints. */
const notOurRef = (oid: string) => pkt(`ERR upload-pack: not our ref ${oid}\n`)

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
