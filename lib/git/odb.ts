// Object store of one bare repository: packs with indexes plus loose objects.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { inflateSync, deflateSync } from 'node:zlib'
import { applyDelta } from './delta.ts'
import { hashObject, isOid } from './objects.ts'
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_NAMES, readEntryHeader } from './pack-format.ts'
import type { ObjectType } from './pack-format.ts'
import { PackFile } from './pack-file.ts'
import { withRegularFile } from './regular-file.ts'

export interface GitObject {
  type: ObjectType
  data: Buffer
}

export type Location = { pack: PackFile; offset: number } | { loose: string }

const CACHE_BYTES = 48 * 1024 * 1024

export class ObjectStore {
  packs: PackFile[] = []
  /** Packs whose files were removed (by a prune) while a request may still be reading them. */
  private retired: PackFile[] = []
  private names = new Set<string>()
  private cache = new Map<string, GitObject>()
  private cacheBytes = 0

  constructor(readonly dir: string) {}

  get packDir(): string {
    return join(this.dir, 'pack')
  }

  /** Picks up packs added and drops packs removed since the last look (possibly by another instance). */
  refresh(): void {
    let files: string[]
    try {
      // Regular files only: a link planted in the pack directory is never followed.
      files = readdirSync(this.packDir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name)
    } catch {
      return
    }
    const listed = new Set(files)
    for (const p of this.packs) {
      const idx = basename(p.path).replace(/\.pack$/, '.idx')
      if (listed.has(idx)) continue
      // Its open descriptor still reads the removed file: closed once no request uses the store.
      this.retired.push(p)
      this.names.delete(idx)
    }
    if (this.retired.length) this.packs = this.packs.filter((p) => !this.retired.includes(p))
    for (const f of files) {
      if (!f.endsWith('.idx') || this.names.has(f)) continue
      const pack = join(this.packDir, f.replace(/\.idx$/, '.pack'))
      if (!lstatSync(pack, { throwIfNoEntry: false })?.isFile()) continue
      let file: PackFile
      try {
        file = new PackFile(pack)
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') continue // removed between the listing and the open
        throw err
      }
      this.packs.push(file)
      this.names.add(f)
    }
  }

  /** Closes packs dropped by refresh; only when no reader can still hold one. */
  closeRetired(): void {
    for (const p of this.retired) p.close()
    this.retired = []
  }

  close(): void {
    this.closeRetired()
    for (const p of this.packs) p.close()
    this.packs = []
    this.names.clear()
    this.cache.clear()
    this.cacheBytes = 0
  }

  locate(oid: string): Location | null {
    if (!isOid(oid)) return null
    const key = Buffer.from(oid, 'hex')
    for (const pack of this.packs) {
      const i = pack.index.find(key)
      if (i >= 0) return { pack, offset: pack.index.offset(i) }
    }
    const loose = this.loosePath(oid)
    return isRegularFile(loose) ? { loose } : null
  }

  has(oid: string): boolean {
    return this.locate(oid) !== null
  }

  loosePath(oid: string): string {
    return join(this.dir, oid.slice(0, 2), oid.slice(2))
  }

  read(oid: string): GitObject | null {
    const loc = this.locate(oid)
    if (!loc) return null
    if ('loose' in loc) return readLoose(loc.loose)
    return this.readAt(loc.pack, loc.offset)
  }

  /** Reads and resolves the entry at an offset, caching intermediate results. */
  readAt(pack: PackFile, offset: number): GitObject {
    const chain: Buffer[] = []
    let base: GitObject | null = null
    let at = offset
    const keys: string[] = []
    for (let depth = 0; ; depth++) {
      if (depth > 10000) throw new Error('delta chain too deep')
      const key = `${pack.path}:${at}`
      const hit = this.cache.get(key)
      if (hit) {
        base = hit
        break
      }
      const end = pack.entryEnd(at)
      const raw = pack.read(at, end - at)
      const h = readEntryHeader(raw, 0)
      if (!h) throw new Error('corrupt pack entry')
      const data = inflateSync(raw.subarray(h.headerLen), { chunkSize: Math.max(64, h.size + 1) })
      if (data.length !== h.size) throw new Error('corrupt pack entry size')
      if (h.type === OBJ_OFS_DELTA) {
        chain.push(data)
        keys.push(key)
        at += h.baseOffset!
      } else if (h.type === OBJ_REF_DELTA) {
        chain.push(data)
        keys.push(key)
        const loc = this.locate(h.baseOid!)
        if (!loc) throw new Error(`missing delta base ${h.baseOid}`)
        if ('loose' in loc) {
          base = readLoose(loc.loose)
          break
        }
        pack = loc.pack
        at = loc.offset
      } else {
        base = { type: TYPE_NAMES[h.type], data }
        if (!base.type) throw new Error('bad object type in pack')
        this.remember(key, base)
        break
      }
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      base = { type: base.type, data: applyDelta(base.data, chain[i], Number.MAX_SAFE_INTEGER) }
      this.remember(keys[i], base)
    }
    return base
  }

  private remember(key: string, obj: GitObject): void {
    if (obj.data.length > CACHE_BYTES / 8) return
    this.cache.set(key, obj)
    this.cacheBytes += obj.data.length
    for (const [k, v] of this.cache) {
      if (this.cacheBytes <= CACHE_BYTES) break
      this.cache.delete(k)
      this.cacheBytes -= v.data.length
    }
  }

  /** Writes a loose object (used for objects that arrive outside a self-contained pack). */
  writeLoose(type: ObjectType, data: Buffer): string {
    const oid = hashObject(type, data)
    const path = this.loosePath(oid)
    if (existsSync(path)) return oid
    mkdirSync(join(this.dir, oid.slice(0, 2)), { recursive: true })
    const tmp = `${path}.tmp${process.pid}${Math.random().toString(36).slice(2)}`
    writeFileSync(tmp, deflateSync(Buffer.concat([Buffer.from(`${type} ${data.length}\0`), data])))
    renameSync(tmp, path)
    return oid
  }

  /** Ids of all loose objects. */
  looseIds(): string[] {
    const out: string[] = []
    for (const d of readdirSync(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue
      for (const f of readdirSync(join(this.dir, d))) if (/^[0-9a-f]{38}$/.test(f)) out.push(d + f)
    }
    return out
  }
}

/** A regular file, not reached through a symlink at its own name. */
function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isFile() ?? false
  } catch {
    return false
  }
}

export function readLoose(path: string): GitObject {
  const raw = withRegularFile(path, (fd) => inflateSync(readFileSync(fd)))
  const nul = raw.indexOf(0)
  const [type, size] = raw.toString('latin1', 0, nul).split(' ')
  const data = raw.subarray(nul + 1)
  if (Number(size) !== data.length || !['commit', 'tree', 'blob', 'tag'].includes(type)) throw new Error('corrupt loose object')
  return { type: type as ObjectType, data }
}
