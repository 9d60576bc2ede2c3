// Read-only view of a room's bare repository for the web page: branches, tree, one file, recent commits.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { openRepo } from '../../lib/git/index.ts'
import { isGitlink, isTreeMode, parseCommit, parseTree } from '../../lib/git/objects.ts'
import { headTarget, listRefs } from '../../lib/git/refs.ts'
import type { ObjectStore } from '../../lib/git/odb.ts'
import { objectInfo, readPrefix, readWithin } from '../../lib/git/object-info.ts'

export const MAX_TREE_ENTRIES = 500
export const MAX_COMMITS = 20
/** Largest commit or tree the page reads, and largest delta chain behind a file it shows. */
export const MAX_OBJECT_READ = 16 * 2 ** 20
/** Bytes of a file too large to show read to tell binary from text (git's rule looks at 8000). */
const SNIFF_BYTES = 8000

export interface TreeItem {
  path: string
  name: string
  depth: number
  kind: 'dir' | 'file' | 'link' | 'submodule'
}

export interface CommitItem {
  oid: string
  author: string
  time: Date
  subject: string
}

export interface RepoOverview {
  branches: string[]
  defaultBranch: string | null
  tree: TreeItem[]
  truncated: boolean
  commits: CommitItem[]
}

export type FileView =
  | { kind: 'text'; path: string; size: number; lines: string[] }
  | { kind: 'binary' | 'too-large'; path: string; size: number }

const HEADS = 'refs/heads/'

/** The repository's object store, or null when nothing was ever pushed (no repository is created here). */
function store(dir: string): ObjectStore | null {
  return existsSync(join(dir, 'HEAD')) ? openRepo(dir).odb : null
}

function defaultHead(dir: string): { branch: string; oid: string } | null {
  const heads = listRefs(dir).filter((r) => r.name.startsWith(HEADS))
  const target = headTarget(dir)
  const ref = heads.find((r) => r.name === target) ?? heads.find((r) => r.name === `${HEADS}main`) ?? heads[0]
  return ref ? { branch: ref.name.slice(HEADS.length), oid: ref.oid } : null
}

function object(odb: ObjectStore, oid: string, type: string): Buffer {
  const o = readWithin(odb, oid, MAX_OBJECT_READ)
  if (o === 'too-large') throw new Error(`${type} ${oid} is larger than ${MAX_OBJECT_READ} bytes`)
  if (!o || o.type !== type) throw new Error(`missing ${type} ${oid}`)
  return o.data
}

export function overview(dir: string): RepoOverview | null {
  const odb = store(dir)
  if (!odb) return null
  const heads = listRefs(dir).filter((r) => r.name.startsWith(HEADS))
  const head = defaultHead(dir)
  const result: RepoOverview = { branches: heads.map((r) => r.name.slice(HEADS.length)), defaultBranch: head?.branch ?? null, tree: [], truncated: false, commits: [] }
  if (!head) return result
  const root = parseCommit(object(odb, head.oid, 'commit')).tree
  result.truncated = !walkTree(odb, root, '', 0, result.tree)
  result.commits = recentCommits(odb, head.oid)
  return result
}

/** Depth-first listing, directories first; false when it stopped at MAX_TREE_ENTRIES. */
function walkTree(odb: ObjectStore, oid: string, prefix: string, depth: number, out: TreeItem[]): boolean {
  const entries = parseTree(object(odb, oid, 'tree')).sort((a, b) => {
    const d = Number(isTreeMode(b.mode)) - Number(isTreeMode(a.mode))
    return d || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  })
  for (const e of entries) {
    if (out.length >= MAX_TREE_ENTRIES) return false
    const path = prefix + e.name
    const kind = isTreeMode(e.mode) ? 'dir' : isGitlink(e.mode) ? 'submodule' : e.mode === '120000' ? 'link' : 'file'
    out.push({ path, name: e.name, depth, kind })
    if (kind === 'dir' && !walkTree(odb, e.oid, `${path}/`, depth + 1, out)) return false
  }
  return true
}

/** The newest commits reachable from `tip`, newest first by committer time. */
function recentCommits(odb: ObjectStore, tip: string): CommitItem[] {
  const out: CommitItem[] = []
  const seen = new Set([tip])
  const queue: { oid: string; data: Buffer; time: number }[] = []
  const push = (oid: string) => {
    const data = readWithin(odb, oid, MAX_OBJECT_READ)
    if (!data || data === 'too-large' || data.type !== 'commit') return // shallow, missing or oversized parent
    queue.push({ oid, data: data.data, time: parseCommit(data.data).time })
  }
  push(tip)
  while (queue.length > 0 && out.length < MAX_COMMITS) {
    queue.sort((a, b) => b.time - a.time)
    const c = queue.shift()!
    out.push(describe(c.oid, c.data))
    for (const p of parseCommit(c.data).parents) {
      if (!seen.has(p)) {
        seen.add(p)
        push(p)
      }
    }
  }
  return out
}

function describe(oid: string, data: Buffer): CommitItem {
  const end = data.indexOf('\n\n')
  const head = data.toString('utf8', 0, end < 0 ? data.length : end)
  const author = /^author (.*?) <[^>]*> (\d+)/m.exec(head)
  const message = end < 0 ? '' : data.toString('utf8', end + 2)
  return {
    oid,
    author: author?.[1] ?? '',
    time: new Date(Number(author?.[2] ?? parseCommit(data).time) * 1000),
    subject: message.split('\n', 1)[0].trim(),
  }
}

/** One file of the default branch, or null when the path is not a file there. */
export function readFile(dir: string, path: string, maxBytes: number): FileView | null {
  const odb = store(dir)
  const head = odb && defaultHead(dir)
  if (!odb || !head) return null
  let oid = parseCommit(object(odb, head.oid, 'commit')).tree
  const parts = path.split('/')
  for (let i = 0; i < parts.length; i++) {
    const entry = parseTree(object(odb, oid, 'tree')).find((e) => e.name === parts[i])
    if (!entry) return null
    const last = i === parts.length - 1
    if (last ? isTreeMode(entry.mode) || isGitlink(entry.mode) : !isTreeMode(entry.mode)) return null
    oid = entry.oid
  }
  // The size comes from the object's header: a file too large to show is never read whole.
  const info = objectInfo(odb, oid)
  if (!info || info.type !== 'blob') throw new Error(`missing blob ${oid}`)
  if (info.size > maxBytes) {
    const head = readPrefix(odb, oid, SNIFF_BYTES)
    return { kind: head && isBinary(head) ? 'binary' : 'too-large', path, size: info.size }
  }
  const o = readWithin(odb, oid, MAX_OBJECT_READ)
  if (o === 'too-large') return { kind: 'too-large', path, size: info.size }
  if (!o) throw new Error(`missing blob ${oid}`)
  const data = o.data
  if (isBinary(data)) return { kind: 'binary', path, size: data.length }
  const text = data.toString('utf8')
  const lines = text.split('\n')
  if (text.endsWith('\n')) lines.pop()
  return { kind: 'text', path, size: data.length, lines }
}

/** NUL in the first 8 KB (git's rule) or not UTF-8. */
function isBinary(data: Buffer): boolean {
  if (data.subarray(0, 8000).includes(0)) return true
  try {
    // stream: a character cut at the 64 KB boundary is not an error
    new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(0, 64 * 1024), { stream: true })
    return false
  } catch {
    return true
  }
}
