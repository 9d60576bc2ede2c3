// What the room page shows of a repository: branches, the default branch's files and recent commits, one file.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { objectInfo, readPrefix } from '../object-info.ts'
import { isGitlink, isTreeMode } from '../objects.ts'
import { headTarget, listRefs } from '../refs.ts'
import { openRepo } from '../repo.ts'
import { subject, walkCommits } from './commits.ts'
import { ObjectTooLarge } from './fs.ts'
import { RepoReader, type CommitObject } from './reader.ts'

export const MAX_TREE_ENTRIES = 500
export const MAX_COMMITS = 20
/** Bytes of a file too large to show read to tell binary from text (git's rule looks at 8000). */
const SNIFF_BYTES = 8000
/** Listings kept: a commit's files and history never change. */
const LISTINGS_KEPT = 64

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

/** Runs `fn` on the repository, or answers null when nothing was ever pushed (no repository is created here). */
async function reading<T>(dir: string, fn: (r: RepoReader) => Promise<T | null>): Promise<T | null> {
  if (!existsSync(join(dir, 'HEAD'))) return null
  const repo = openRepo(dir)
  try {
    return await fn(new RepoReader(repo))
  } finally {
    repo.release()
  }
}

/** Branches in byte order, and the one HEAD names (else main, else the first). */
function heads(dir: string): { branches: string[]; head: { branch: string; oid: string } | null } {
  const refs = listRefs(dir).filter((r) => r.name.startsWith(HEADS))
  const target = headTarget(dir)
  const ref = refs.find((r) => r.name === target) ?? refs.find((r) => r.name === `${HEADS}main`) ?? refs[0]
  return { branches: refs.map((r) => r.name.slice(HEADS.length)), head: ref ? { branch: ref.name.slice(HEADS.length), oid: ref.oid } : null }
}

type Listing = Pick<RepoOverview, 'tree' | 'truncated' | 'commits'>

/** By repository and commit, most recently used last; a listing being read is shared by the views that ask for it. */
const listings = new Map<string, Promise<Listing>>()

function listing(r: RepoReader, dir: string, tip: string): Promise<Listing> {
  const key = `${dir}\0${tip}`
  let p = listings.get(key)
  if (p) listings.delete(key)
  else {
    p = list(r, tip)
    const failed = p
    failed.catch(() => listings.get(key) === failed && listings.delete(key))
  }
  listings.set(key, p)
  if (listings.size > LISTINGS_KEPT) listings.delete(listings.keys().next().value!)
  return p
}

async function list(r: RepoReader, tip: string): Promise<Listing> {
  const tree: TreeItem[] = []
  const root = (await r.commit(tip)).tree
  // The files and the history are read side by side: each waits on its own reads.
  const [complete, { commits }] = await Promise.all([walkTree(r, root, '', 0, tree), walkCommits(r, tip, [], MAX_COMMITS, 'skip')])
  return { tree, truncated: !complete, commits: commits.map((c) => describe(c.oid, c.commit)) }
}

export function overview(dir: string): Promise<RepoOverview | null> {
  return reading(dir, async (r) => {
    const { branches, head } = heads(dir)
    const result: RepoOverview = { branches, defaultBranch: head?.branch ?? null, tree: [], truncated: false, commits: [] }
    return head ? { ...result, ...(await listing(r, dir, head.oid)) } : result
  })
}

/** Depth-first listing, directories first; false when it stopped at MAX_TREE_ENTRIES. */
async function walkTree(r: RepoReader, oid: string, prefix: string, depth: number, out: TreeItem[]): Promise<boolean> {
  const entries = (await r.tree(oid)).sort((a, b) => {
    const d = Number(isTreeMode(b.mode)) - Number(isTreeMode(a.mode))
    return d || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  })
  for (const e of entries) {
    if (out.length >= MAX_TREE_ENTRIES) return false
    const path = prefix + e.name
    const kind = isTreeMode(e.mode) ? 'dir' : isGitlink(e.mode) ? 'submodule' : e.mode === '120000' ? 'link' : 'file'
    out.push({ path, name: e.name, depth, kind })
    if (kind === 'dir' && !(await walkTree(r, e.oid, `${path}/`, depth + 1, out))) return false
  }
  return true
}

function describe(oid: string, c: CommitObject): CommitItem {
  const time = Number(c.author?.timestamp ?? c.committer?.timestamp) || 0
  return { oid, author: c.author?.name ?? '', time: new Date(time * 1000), subject: subject(c) }
}

/** One file of the default branch, or null when the path is not a file there. */
export function readFile(dir: string, path: string, maxBytes: number): Promise<FileView | null> {
  return reading(dir, async (r) => {
    const { head } = heads(dir)
    if (!head) return null
    let oid = (await r.commit(head.oid)).tree
    const parts = path.split('/')
    for (let i = 0; i < parts.length; i++) {
      const entry = (await r.tree(oid)).find((e) => e.name === parts[i])
      if (!entry) return null
      const last = i === parts.length - 1
      if (last ? isTreeMode(entry.mode) || isGitlink(entry.mode) : !isTreeMode(entry.mode)) return null
      oid = entry.oid
    }
    // The size comes from the object's header: a file too large to show is never read whole.
    const info = objectInfo(r.repo.odb, oid)
    if (!info || info.type !== 'blob') throw new Error(`missing blob ${oid}`)
    if (info.size > maxBytes) {
      const head = readPrefix(r.repo.odb, oid, SNIFF_BYTES)
      return { kind: head && isBinary(head) ? 'binary' : 'too-large', path, size: info.size }
    }
    let data: Buffer
    try {
      data = await r.blob(oid)
    } catch (err) {
      if (err instanceof ObjectTooLarge) return { kind: 'too-large', path, size: info.size }
      throw err
    }
    if (isBinary(data)) return { kind: 'binary', path, size: data.length }
    const text = data.toString('utf8')
    const lines = text.split('\n')
    if (text.endsWith('\n')) lines.pop()
    return { kind: 'text', path, size: data.length, lines }
  })
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
