// Loose and packed refs: listing, HEAD, and compare-and-swap updates via `<ref>.lock` + rename.
// Reads never follow a symlink, open only regular files, and are bounded in size.
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { isOid, ZERO_OID } from './objects.ts'
import { withRegularFile } from './regular-file.ts'

export interface Ref {
  name: string
  oid: string
}

/** A loose ref or HEAD holds one line; a bigger file is not a ref. */
export const MAX_REF_FILE_BYTES = 4096
/** About 400,000 refs: a bigger packed-refs is an error rather than a long synchronous read. */
export const MAX_PACKED_REFS_BYTES = 32 * 2 ** 20

/** A regular file's bytes without following a symlink at `path`; null when absent or not a regular file. */
export function readRegular(path: string, max: number): Buffer | null | 'too-big' {
  try {
    return withRegularFile(path, (fd, st) => {
      if (st.size > max) return 'too-big'
      const buf = Buffer.allocUnsafe(st.size + 1)
      let got = 0
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, got)
        if (!n) break
        got += n
      }
      return got > max ? 'too-big' : buf.subarray(0, got)
    })
  } catch {
    return null
  }
}

/** True when every directory between `gitDir` and `rel` is a real directory (no symlink on the way). */
function realDirs(gitDir: string, rel: string, missingOk = false): boolean {
  const parts = rel.split('/')
  let at = gitDir
  for (let i = 0; i < parts.length - 1; i++) {
    at = join(at, parts[i])
    let st
    try {
      st = lstatSync(at, { throwIfNoEntry: false })
    } catch {
      return false
    }
    if (!st) return missingOk
    if (!st.isDirectory()) return false
  }
  return true
}

/** A small file inside the repository (`rel` checked by the caller), or null. */
function readSmall(gitDir: string, rel: string): string | null {
  if (!realDirs(gitDir, rel)) return null
  const b = readRegular(join(gitDir, rel), MAX_REF_FILE_BYTES)
  return b && b !== 'too-big' ? b.toString('utf8') : null
}

function packedRefs(gitDir: string): Map<string, string> {
  const out = new Map<string, string>()
  const b = readRegular(join(gitDir, 'packed-refs'), MAX_PACKED_REFS_BYTES)
  if (b === 'too-big') throw new Error(`packed-refs is larger than ${MAX_PACKED_REFS_BYTES} bytes`)
  if (!b) return out
  for (const line of b.toString('utf8').split('\n')) {
    const m = /^([0-9a-f]{40}) (refs\/\S+)$/.exec(line)
    if (m && validRefName(m[2])) out.set(m[2], m[1])
  }
  return out
}

function walkLoose(gitDir: string, dir: string, out: Map<string, string>): void {
  let entries
  try {
    entries = readdirSync(join(gitDir, dir), { withFileTypes: true })
  } catch {
    return
  }
  for (const e of entries) {
    const name = `${dir}/${e.name}`
    // Dirent types come from lstat: symlinks are neither directories nor files here.
    if (e.isDirectory()) walkLoose(gitDir, name, out)
    else if (e.isFile() && validRefName(name)) {
      const b = readRegular(join(gitDir, name), MAX_REF_FILE_BYTES)
      const v = b && b !== 'too-big' ? b.toString('utf8').trim() : ''
      if (isOid(v)) out.set(name, v)
    }
  }
}

/** All refs under refs/, in byte order; `.lock` files and invalid names are never listed. */
export function listRefs(gitDir: string): Ref[] {
  const all = packedRefs(gitDir)
  walkLoose(gitDir, 'refs', all)
  return [...all]
    .map(([name, oid]) => ({ name, oid }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
}

/** The id a valid ref name points at: its loose file, else packed-refs; null for any other name. */
export function readRef(gitDir: string, name: string): string | null {
  if (!validRefName(name)) return null
  const v = readSmall(gitDir, name)?.trim()
  if (v && isOid(v)) return v
  return packedRefs(gitDir).get(name) ?? null
}

/** The branch HEAD points at (symbolic ref target). */
export function headTarget(gitDir: string): string {
  const v = readSmall(gitDir, 'HEAD')?.trim() ?? ''
  const target = v.startsWith('ref: ') ? v.slice(5).trim() : ''
  return validRefName(target) ? target : 'refs/heads/main'
}

export function setHead(gitDir: string, target: string): void {
  const path = join(gitDir, 'HEAD')
  // A stale lock (or a symlink planted as one) is removed, never written through.
  rmSync(`${path}.lock`, { force: true })
  writeFileSync(`${path}.lock`, `ref: ${target}\n`, { flag: 'wx' })
  renameSync(`${path}.lock`, path)
}

/** git check-ref-format rules for names a client may push. */
export function validRefName(name: string): boolean {
  if (!name.startsWith('refs/') || name.length > 1024) return false
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name) || name.includes('..') || name.includes('@{') || name.includes('//')) return false
  if (name.endsWith('/') || name.endsWith('.')) return false
  return name.split('/').every((c) => c.length > 0 && !c.startsWith('.') && !c.endsWith('.lock'))
}

/** A name as a client may abbreviate it (`main`, `tags/v1`, `refs/heads/main`, `HEAD`), by the same rules. */
export function validRefShorthand(name: string): boolean {
  return name === 'HEAD' || validRefName(name.startsWith('refs/') ? name : `refs/${name}`)
}

export interface RefUpdate {
  name: string
  old: string
  new: string
}

/** Takes `<ref>.lock` for every update; returns the error text per ref (null = locked). */
function lockAll(gitDir: string, updates: RefUpdate[]): (string | null)[] {
  return updates.map((u) => {
    const path = join(gitDir, u.name)
    try {
      if (!realDirs(gitDir, u.name, true)) return 'failed to lock'
      if (u.new !== ZERO_OID) mkdirSync(dirname(path), { recursive: true })
      const fd = openSync(`${path}.lock`, 'wx')
      try {
        if (u.new !== ZERO_OID) writeSync(fd, `${u.new}\n`)
      } finally {
        closeSync(fd)
      }
    } catch {
      return 'failed to lock'
    }
    const cur = readRef(gitDir, u.name) ?? ZERO_OID
    if (cur !== u.old) return 'stale info'
    return null
  })
}

function unlock(gitDir: string, name: string): void {
  try {
    unlinkSync(join(gitDir, `${name}.lock`))
  } catch {}
}

/** Removes now-empty directories between a deleted ref and refs/heads or refs/tags. */
function pruneDirs(gitDir: string, name: string): void {
  let dir = dirname(name)
  while (dir.split('/').length > 2) {
    try {
      rmdirSync(join(gitDir, dir))
    } catch {
      return
    }
    dir = dirname(dir)
  }
}

function commit(gitDir: string, u: RefUpdate): void {
  const path = join(gitDir, u.name)
  if (u.new === ZERO_OID) {
    try {
      unlinkSync(path)
    } catch {}
    unlock(gitDir, u.name)
    pruneDirs(gitDir, u.name)
  } else renameSync(`${path}.lock`, path)
}

/**
 * Compare-and-swap updates. Caller holds the repository lock.
 * Returns null per successful ref, or the reason it was refused.
 */
export function updateRefs(gitDir: string, updates: RefUpdate[], atomic: boolean): (string | null)[] {
  const errs = lockAll(gitDir, updates)
  const failed = errs.some((e) => e !== null)
  const result = updates.map((u, i) => {
    if (errs[i] !== null) return errs[i]
    if (atomic && failed) return 'atomic push failed'
    return null
  })
  updates.forEach((u, i) => {
    if (result[i] === null) {
      try {
        commit(gitDir, u)
      } catch {
        result[i] = 'failed to update ref'
        unlock(gitDir, u.name)
      }
    } else if (errs[i] !== 'failed to lock') unlock(gitDir, u.name)
  })
  return result
}
