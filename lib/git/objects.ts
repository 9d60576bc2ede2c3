// Object ids and parsing of commits, trees and tags (only the fields the protocol needs).
import { createHash } from 'node:crypto'
import type { ObjectType } from './pack-format.ts'

export const ZERO_OID = '0'.repeat(40)
export const isOid = (s: string): boolean => /^[0-9a-f]{40}$/.test(s)

export function hashObject(type: ObjectType, data: Buffer): string {
  return createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex')
}

export interface Commit {
  tree: string
  parents: string[]
  /** Committer time, seconds since the epoch. */
  time: number
}

export function parseCommit(data: Buffer): Commit {
  const end = data.indexOf('\n\n')
  const head = data.toString('utf8', 0, end < 0 ? data.length : end)
  let tree = ''
  const parents: string[] = []
  let time = 0
  for (const line of head.split('\n')) {
    if (line.startsWith('tree ')) tree = line.slice(5)
    else if (line.startsWith('parent ')) parents.push(line.slice(7))
    else if (line.startsWith('committer ')) {
      const m = /> (\d+) [+-]\d{4}$/.exec(line)
      if (m) time = Number(m[1])
    }
  }
  if (!isOid(tree) || !parents.every(isOid)) throw new Error('malformed commit')
  return { tree, parents, time }
}

export interface TreeEntry {
  mode: string
  name: string
  oid: string
}

export const isGitlink = (mode: string): boolean => mode === '160000'
export const isTreeMode = (mode: string): boolean => mode === '40000' || mode === '040000'

export function parseTree(data: Buffer): TreeEntry[] {
  const out: TreeEntry[] = []
  let p = 0
  while (p < data.length) {
    const sp = data.indexOf(0x20, p)
    const nul = data.indexOf(0, sp + 1)
    if (sp < 0 || nul < 0 || nul + 21 > data.length) throw new Error('malformed tree')
    out.push({ mode: data.toString('latin1', p, sp), name: data.toString('utf8', sp + 1, nul), oid: data.toString('hex', nul + 1, nul + 21) })
    p = nul + 21
  }
  return out
}

export interface Tag {
  object: string
  type: string
}

export function parseTag(data: Buffer): Tag {
  const head = data.toString('utf8', 0, Math.min(data.length, 200))
  const m = /^object ([0-9a-f]{40})\ntype (\w+)\n/.exec(head)
  if (!m) throw new Error('malformed tag')
  return { object: m[1], type: m[2] }
}

/** Ids an object points at (gitlinks excluded): used for connectivity checks. */
export function referencedIds(type: ObjectType, data: Buffer): string[] {
  if (type === 'commit') {
    const c = parseCommit(data)
    return [c.tree, ...c.parents]
  }
  if (type === 'tree') return parseTree(data).filter((e) => !isGitlink(e.mode)).map((e) => e.oid)
  if (type === 'tag') return [parseTag(data).object]
  return []
}
