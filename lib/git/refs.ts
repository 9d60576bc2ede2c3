// Loose and packed refs: listing, HEAD, and compare-and-swap updates via `<ref>.lock` + rename.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { isOid, ZERO_OID } from './objects.ts'

export interface Ref {
  name: string
  oid: string
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

function packedRefs(gitDir: string): Map<string, string> {
  const out = new Map<string, string>()
  const text = readText(join(gitDir, 'packed-refs'))
  if (!text) return out
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{40}) (refs\/\S+)$/.exec(line)
    if (m) out.set(m[2], m[1])
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
    if (e.isDirectory()) walkLoose(gitDir, name, out)
    else if (e.isFile() && !e.name.endsWith('.lock')) {
      const v = readText(join(gitDir, name))?.trim()
      if (v && isOid(v)) out.set(name, v)
    }
  }
}

/** All refs under refs/, in byte order; `.lock` files are never listed. */
export function listRefs(gitDir: string): Ref[] {
  const all = packedRefs(gitDir)
  walkLoose(gitDir, 'refs', all)
  return [...all]
    .map(([name, oid]) => ({ name, oid }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
}

export function readRef(gitDir: string, name: string): string | null {
  const v = readText(join(gitDir, name))?.trim()
  if (v && isOid(v)) return v
  return packedRefs(gitDir).get(name) ?? null
}

/** The branch HEAD points at (symbolic ref target). */
export function headTarget(gitDir: string): string {
  const v = readText(join(gitDir, 'HEAD'))?.trim() ?? ''
  return v.startsWith('ref: ') ? v.slice(5) : 'refs/heads/main'
}

export function setHead(gitDir: string, target: string): void {
  const path = join(gitDir, 'HEAD')
  writeFileSync(`${path}.lock`, `ref: ${target}\n`)
  renameSync(`${path}.lock`, path)
}

/** git check-ref-format rules for names a client may push. */
export function validRefName(name: string): boolean {
  if (!name.startsWith('refs/') || name.length > 1024) return false
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name) || name.includes('..') || name.includes('@{') || name.includes('//')) return false
  if (name.endsWith('/') || name.endsWith('.')) return false
  return name.split('/').every((c) => c.length > 0 && !c.startsWith('.') && !c.endsWith('.lock'))
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
