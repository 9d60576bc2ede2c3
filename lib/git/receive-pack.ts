// receive-pack over stateless RPC: commands, pack validation in quarantine, push rules, CAS ref updates, report-status.
import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { band, FLUSH, pkt, PktReader, ProtocolError } from './pktline.ts'
import { indexPack } from './index-pack.ts'
import type { IndexedPack } from './index-pack.ts'
import { DEFAULT_LIMITS, PackError, type PackLimits } from './pack-limits.ts'
import { writeIndex } from './pack-index.ts'
import { FileSource } from './pack-source.ts'
import { headTarget, listRefs, readRef, setHead, updateRefs, validRefName } from './refs.ts'
import type { RefUpdate } from './refs.ts'
import type { Repo } from './repo.ts'
import { isOid, ZERO_OID } from './objects.ts'
import { ObjectStore } from './odb.ts'
import { objectInfo } from './object-info.ts'
import { isAncestor } from './ancestry.ts'
import { classify, CREDENTIALS_HINT, refusal, STREAMED_HINT, targetRefusal } from './push-rules.ts'
import type { Change, Pusher } from './push-rules.ts'
import type { ObjectType } from './pack-format.ts'
import { firstPathRefusal, type PathRefusal } from './changed-paths.ts'

export type { PathRefusal } from './changed-paths.ts'
const MAX_PUSH_OPTIONS = 32

/** A ref this push moved. */
export interface AppliedUpdate {
  name: string
  old: string
  new: string
}

export interface ReceiveOptions {
  /** Runs `fn` holding the repository's ref lock (across instances when configured). */
  withLock: <T>(fn: () => Promise<T>) => Promise<T>
  limits?: PackLimits
  /** Called after refs moved, with the successful updates and the ref tips before the push. */
  onPushed?: (updates: AppliedUpdate[], refsBefore: string[]) => void | Promise<void>
  /** The agent behind the request's credentials; absent or null: anonymous (or the room password). */
  pusher?: Pusher | null
  /**
   * Set when the client sent no credentials. 'challenge': it can send this request again, so a push that only
   * an agent may make throws CredentialsRequired (answered with a 401) instead of being refused. 'streamed': it
   * streamed a large body and cannot, so the refusal says how to make git send credentials.
   */
  unauthenticated?: 'challenge' | 'streamed'
  /**
   * Per-path rules (leases) for this push, given its push options (`git push -o …`); null or absent: none. A branch
   * update whose new commits change a refused path is refused with that reason.
   */
  pathRules?: (pushOptions: string[]) => Promise<PathRefusal | null>
}

/** Thrown before any output when the push needs an agent and the client may still send credentials. */
export class CredentialsRequired extends Error {
  constructor() {
    super(`Rewriting or deleting refs needs an agent of the room ${CREDENTIALS_HINT}`)
  }
}

/** A stored object's type from its headers alone (a large blob is never inflated); null when unreadable. */
function storedType(odb: ObjectStore, oid: string): ObjectType | null {
  try {
    return objectInfo(odb, oid)?.type ?? null
  } catch {
    return null
  }
}

interface Command extends RefUpdate {
  error?: string
  change?: Change
}

/** Streams the pack part of the request into a temporary file in `dir`. */
async function savePack(dir: string, source: AsyncIterable<Buffer>): Promise<{ path: string; size: number }> {
  const path = join(dir, `tmp_pack_${randomBytes(8).toString('hex')}`)
  const out = createWriteStream(path)
  let size = 0
  try {
    for await (const chunk of source) {
      size += chunk.length
      if (!out.write(chunk)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
  } catch (err) {
    // A write still under way fails once the stream is destroyed: with no listener that error would be uncaught.
    out.on('error', () => {})
    out.destroy()
    rmSync(path, { force: true })
    throw err
  }
  return { path, size }
}

/** Validates a received pack; null for an empty pack. */
async function checkPack(repo: Repo, tmp: string, limits: PackLimits): Promise<IndexedPack | null> {
  const src = new FileSource(tmp)
  try {
    const indexed = await indexPack(src, repo.odb, limits)
    return indexed.entries.length ? indexed : null
  } finally {
    src.close()
  }
}

const packName = (indexed: IndexedPack) => `pack-${indexed.checksum.toString('hex')}`

/**
 * Gives a validated pack its index inside the quarantine directory (a private object store, like C git's
 * incoming objects): readable for the push rules, invisible to every other request until installed.
 */
function quarantine(dir: string, tmp: string, indexed: IndexedPack): ObjectStore {
  const name = join(dir, 'pack', packName(indexed))
  writeFileSync(`${name}.idx`, writeIndex(indexed.entries, indexed.checksum))
  renameSync(tmp, `${name}.pack`)
  const odb = new ObjectStore(dir)
  odb.refresh()
  return odb
}

/** Moves a quarantined pack and its index into objects/pack (the index last: it makes the pack visible). */
function installPack(repo: Repo, dir: string, indexed: IndexedPack): void {
  const name = join(repo.odb.packDir, packName(indexed))
  if (existsSync(`${name}.idx`)) return
  const from = join(dir, 'pack', packName(indexed))
  renameSync(`${from}.pack`, `${name}.pack`)
  renameSync(`${from}.idx`, `${name}.idx`)
  repo.odb.refresh()
}

function report(lines: string[], sideband: boolean): Buffer {
  const body = Buffer.concat([...lines.map((l) => pkt(`${l}\n`)), FLUSH])
  return sideband ? Buffer.concat([...band(1, body), FLUSH]) : body
}

interface Pending {
  indexed: IndexedPack | null
  /** The quarantined pack's object store (null when the push brought no objects). */
  staged: ObjectStore | null
  incoming: string
  atomic: boolean
  pusher: Pusher | null
  pushOptions: string[]
  opts: ReceiveOptions
}

/** Checks every command against the objects and the push rules, then moves the refs that pass. */
async function applyCommands(repo: Repo, commands: Command[], p: Pending): Promise<{ applied: AppliedUpdate[]; refsBefore: string[] }> {
  const { indexed, staged, pusher } = p
  const applied: AppliedUpdate[] = []
  const read = (oid: string) => staged?.read(oid) ?? repo.odb.read(oid)
  for (const c of commands) {
    if (!validRefName(c.name)) c.error = 'funny refname'
    else if (c.new !== ZERO_OID && !indexed?.objects.has(c.new) && !repo.odb.has(c.new)) c.error = 'missing necessary objects'
    else if (c.new !== ZERO_OID) c.error = targetRefusal(c.name, indexed?.objects.get(c.new) ?? storedType(repo.odb, c.new)) ?? undefined
    if (!c.error) c.change = classify(c.name, c.old, c.new, () => isAncestor(read, c.old, c.new))
  }
  const refuse = p.opts.pathRules ? await p.opts.pathRules(p.pushOptions) : null
  if (refuse) {
    const isNew = (oid: string) => indexed?.objects.get(oid) === 'commit'
    for (const c of commands) {
      if (c.error || c.new === ZERO_OID || !c.name.startsWith('refs/heads/')) continue
      const why = firstPathRefusal(read, isNew, c.new, c.change === 'rewrite' ? c.old : null, refuse)
      if (why) c.error = why
    }
  }
  // The rules decide again under the lock; this first look only tells whether to ask for credentials.
  if (!pusher && p.opts.unauthenticated === 'challenge') {
    const head = headTarget(repo.dir)
    const byPath = refuse !== null && commands.some((c) => c.error && c.change)
    const refused = byPath || commands.some((c) => !c.error && (readRef(repo.dir, c.name) ?? ZERO_OID) === c.old && refusal(c.name, c.change!, null, head))
    if (refused) throw new CredentialsRequired()
  }

  const refsBefore = listRefs(repo.dir).map((x) => x.oid)
  const hint = p.opts.unauthenticated === 'streamed' ? STREAMED_HINT : CREDENTIALS_HINT
  await p.opts.withLock(async () => {
    const head = headTarget(repo.dir)
    for (const c of commands) {
      if (c.error) continue
      if ((readRef(repo.dir, c.name) ?? ZERO_OID) !== c.old) c.error = 'stale info'
      else c.error = refusal(c.name, c.change!, pusher, head, hint) ?? undefined
    }
    const todo = commands.filter((c) => !c.error)
    if (p.atomic && todo.length < commands.length) {
      for (const c of todo) c.error = 'atomic push failed'
      return
    }
    if (!todo.length) return
    // Objects are kept only when some ref will point at them, and stored before any ref does.
    if (indexed) installPack(repo, p.incoming, indexed)
    const results = updateRefs(repo.dir, todo, p.atomic)
    todo.forEach((c, i) => {
      if (results[i]) c.error = results[i]!
      else applied.push({ name: c.name, old: c.old, new: c.new })
    })
    if (!readRef(repo.dir, head)) {
      const branch = applied.find((u) => u.name.startsWith('refs/heads/') && u.new !== ZERO_OID)
      if (branch) setHead(repo.dir, branch.name)
    }
  })
  return { applied, refsBefore }
}

export async function* receivePack(repo: Repo, body: AsyncIterable<Buffer>, opts: ReceiveOptions): AsyncGenerator<Buffer> {
  const r = new PktReader(body)
  const commands: Command[] = []
  let caps: string[] = []
  for (;;) {
    const line = await r.line()
    if (line === null) break
    let cmd = line
    const nul = line.indexOf('\0')
    if (nul >= 0) {
      caps = line.slice(nul + 1).split(' ')
      cmd = line.slice(0, nul)
    }
    const [old, neu, name] = cmd.split(' ')
    if (!isOid(old ?? '') || !isOid(neu ?? '') || !name) throw new ProtocolError(`invalid command: ${cmd}`)
    commands.push({ old, new: neu, name })
  }
  if (!commands.length) return
  const pushOptions: string[] = []
  if (caps.includes('push-options')) {
    for (let o = await r.line(); o !== null; o = await r.line()) {
      if (pushOptions.length >= MAX_PUSH_OPTIONS) throw new ProtocolError(`more than ${MAX_PUSH_OPTIONS} push options`)
      pushOptions.push(o)
    }
  }
  const sideband = caps.includes('side-band-64k')
  const wantsReport = caps.includes('report-status') || caps.includes('report-status-v2')
  const atomic = caps.includes('atomic')
  const pusher = opts.pusher ?? null

  let unpack = 'ok'
  let refsBefore: string[] = []
  let applied: AppliedUpdate[] = []
  const incoming = join(repo.odb.dir, `incoming-${randomBytes(8).toString('hex')}`)
  let staged: ObjectStore | null = null
  try {
    let indexed: IndexedPack | null = null
    if (commands.some((c) => c.new !== ZERO_OID)) {
      try {
        mkdirSync(join(incoming, 'pack'), { recursive: true })
        const saved = await savePack(join(incoming, 'pack'), r.rest())
        if (!saved.size) throw new PackError('missing pack')
        indexed = await checkPack(repo, saved.path, opts.limits ?? DEFAULT_LIMITS)
        if (indexed) staged = quarantine(incoming, saved.path, indexed)
      } catch (err) {
        unpack = err instanceof Error ? err.message.replace(/\s+/g, ' ') : 'failed'
      }
    } else for await (const _ of r.rest()) continue // drain: deletes carry no pack
    if (unpack !== 'ok') for (const c of commands) c.error = 'unpacker error'
    else ({ applied, refsBefore } = await applyCommands(repo, commands, { indexed, staged, incoming, atomic, pusher, pushOptions, opts }))
  } finally {
    staged?.close()
    rmSync(incoming, { recursive: true, force: true })
  }

  if (wantsReport) {
    const lines = commands.map((c) => (c.error ? `ng ${c.name} ${c.error}` : `ok ${c.name}`))
    yield report([`unpack ${unpack}`, ...lines], sideband)
  }
  if (applied.length && opts.onPushed) await opts.onPushed(applied, refsBefore)
}
