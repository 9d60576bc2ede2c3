// receive-pack over stateless RPC: commands, pack validation and storage, CAS ref updates, report-status.
import { randomBytes } from 'node:crypto'
import { createWriteStream, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { band, FLUSH, pkt, PktReader, ProtocolError, text } from './pktline.ts'
import { indexPack, PackError, DEFAULT_LIMITS } from './index-pack.ts'
import type { IndexedPack, PackLimits } from './index-pack.ts'
import { writeIndex } from './pack-index.ts'
import { FileSource } from './pack-source.ts'
import { headTarget, listRefs, readRef, setHead, updateRefs, validRefName } from './refs.ts'
import type { RefUpdate } from './refs.ts'
import type { Repo } from './repo.ts'
import { isOid, ZERO_OID } from './objects.ts'
import type { AppliedUpdate } from './push-summary.ts'

export interface ReceiveOptions {
  /** Runs `fn` holding the repository's ref lock (across instances when configured). */
  withLock: <T>(fn: () => Promise<T>) => Promise<T>
  limits?: PackLimits
  /** Called after refs moved, with the successful updates and the ref tips before the push. */
  onPushed?: (updates: AppliedUpdate[], refsBefore: string[]) => void | Promise<void>
}

interface Command extends RefUpdate {
  error?: string
}

/** Streams the pack part of the request into a temporary file. */
async function savePack(repo: Repo, source: AsyncIterable<Buffer>): Promise<{ path: string; size: number }> {
  const path = join(repo.odb.packDir, `tmp_pack_${randomBytes(8).toString('hex')}`)
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
    out.destroy()
    rmSync(path, { force: true })
    throw err
  }
  return { path, size }
}

/** Validates a received pack; null for an empty pack. */
function checkPack(repo: Repo, tmp: string, limits: PackLimits): IndexedPack | null {
  const src = new FileSource(tmp)
  try {
    const indexed = indexPack(src, repo.odb, limits)
    return indexed.entries.length ? indexed : null
  } finally {
    src.close()
  }
}

/** Moves a validated pack and its new index into objects/pack. */
function installPack(repo: Repo, tmp: string, indexed: IndexedPack): void {
  const name = join(repo.odb.packDir, `pack-${indexed.checksum.toString('hex')}`)
  if (existsSync(`${name}.idx`)) return
  renameSync(tmp, `${name}.pack`)
  writeFileSync(`${name}.idx.tmp`, writeIndex(indexed.entries, indexed.checksum))
  renameSync(`${name}.idx.tmp`, `${name}.idx`)
  repo.odb.refresh()
}

function report(lines: string[], sideband: boolean): Buffer {
  const body = Buffer.concat([...lines.map((l) => pkt(`${l}\n`)), FLUSH])
  return sideband ? Buffer.concat([...band(1, body), FLUSH]) : body
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
  // Push options are accepted and ignored.
  if (caps.includes('push-options')) while ((await r.line()) !== null) continue
  const sideband = caps.includes('side-band-64k')
  const wantsReport = caps.includes('report-status') || caps.includes('report-status-v2')
  const atomic = caps.includes('atomic')

  let unpack = 'ok'
  let tmp: string | null = null
  let indexed: IndexedPack | null = null
  try {
    if (commands.some((c) => c.new !== ZERO_OID)) {
      try {
        const saved = await savePack(repo, r.rest())
        tmp = saved.path
        if (!saved.size) throw new PackError('missing pack')
        indexed = checkPack(repo, tmp, opts.limits ?? DEFAULT_LIMITS)
      } catch (err) {
        unpack = err instanceof Error ? err.message.replace(/\s+/g, ' ') : 'failed'
      }
    } else for await (const _ of r.rest()) continue // drain: deletes carry no pack
    for (const c of commands) {
      if (!validRefName(c.name)) c.error = 'funny refname'
      else if (c.new !== ZERO_OID && !indexed?.objects.has(c.new) && !repo.odb.has(c.new)) c.error = 'missing necessary objects'
    }
    // Objects are kept only when some ref can point at them.
    const usable = atomic ? commands.every((c) => !c.error) : commands.some((c) => !c.error)
    if (unpack === 'ok' && indexed && usable) installPack(repo, tmp!, indexed)
  } finally {
    if (tmp) rmSync(tmp, { force: true })
  }

  if (unpack !== 'ok') {
    if (wantsReport) yield report([`unpack ${unpack}`, ...commands.map((c) => `ng ${c.name} unpacker error`)], sideband)
    return
  }
  const refsBefore = listRefs(repo.dir).map((x) => x.oid)
  const applied: AppliedUpdate[] = []
  await opts.withLock(async () => {
    const todo = commands.filter((c) => !c.error)
    if (atomic && todo.length < commands.length) {
      for (const c of todo) c.error = 'atomic push failed'
      return
    }
    const results = updateRefs(repo.dir, todo, atomic)
    todo.forEach((c, i) => {
      if (results[i]) c.error = results[i]!
      else applied.push({ name: c.name, old: c.old, new: c.new })
    })
    const head = headTarget(repo.dir)
    if (!readRef(repo.dir, head)) {
      const branch = applied.find((u) => u.name.startsWith('refs/heads/') && u.new !== ZERO_OID)
      if (branch) setHead(repo.dir, branch.name)
    }
  })
  if (wantsReport) yield report(['unpack ok', ...commands.map((c) => (c.error ? `ng ${c.name} ${c.error}` : `ok ${c.name}`))], sideband)
  if (applied.length && opts.onPushed) await opts.onPushed(applied, refsBefore)
}
