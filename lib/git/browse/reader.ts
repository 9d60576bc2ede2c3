// One reading of a repository's objects through isomorphic-git: commits, trees, blobs and tags, each commit parsed once.
import { readBlob, readCommit, readObject, readTag, readTree, type CommitObject } from 'isomorphic-git'
import { objectInfo } from '../object-info.ts'
import { parseTree, type TreeEntry } from '../objects.ts'
import type { Repo } from '../repo.ts'
import { GITDIR, ObjectTooLarge, repoFs } from './fs.ts'

export type { CommitObject, TreeEntry }

const code = (err: unknown) => (err as { code?: string } | null)?.code

/** Errors of an object that is absent, of another type or too large to read: what a walk may step over. */
const isUnreadable = (err: unknown) => err instanceof ObjectTooLarge || code(err) === 'NotFoundError' || code(err) === 'ObjectTypeError'

export class RepoReader {
  private readonly at: { fs: ReturnType<typeof repoFs>; gitdir: string }
  private commits = new Map<string, CommitObject>()

  constructor(readonly repo: Repo) {
    this.at = { fs: repoFs(repo.odb), gitdir: GITDIR }
  }

  async commit(oid: string): Promise<CommitObject> {
    let c = this.commits.get(oid)
    if (!c) {
      const read = await readCommit({ ...this.at, oid })
      c = read.commit
      // isomorphic-git takes a commit with no blank line as all message; git sees none.
      if (!read.payload.includes('\n\n')) c.message = ''
      this.commits.set(oid, c)
    }
    return c
  }

  /** The commit, or null when it is absent, not a commit or too large (a shallow or oversized parent). */
  async commitIfReadable(oid: string): Promise<CommitObject | null> {
    try {
      return await this.commit(oid)
    } catch (err) {
      if (isUnreadable(err)) return null
      throw err
    }
  }

  /** A tree's entries as stored (not sorted). */
  async tree(oid: string): Promise<TreeEntry[]> {
    try {
      return (await readTree({ ...this.at, oid })).tree.map((e) => ({ mode: e.mode, name: e.path, oid: e.oid }))
    } catch (err) {
      // isomorphic-git refuses trees git keeps (a name like `a\b` or `.git`, a mode like old git's 100664): the
      // listing shows them as git would, parsed from the object isomorphic-git read.
      if (code(err) !== 'UnsafeFilepathError' && code(err) !== 'InternalError') throw err
      const o = await readObject({ ...this.at, oid, format: 'content' })
      if (o.type !== 'tree' || !(o.object instanceof Uint8Array)) throw err
      return parseTree(Buffer.from(o.object.buffer, o.object.byteOffset, o.object.byteLength))
    }
  }

  /** A blob's bytes; throws ObjectTooLarge above MAX_OBJECT_READ. */
  async blob(oid: string): Promise<Buffer> {
    const { blob } = await readBlob({ ...this.at, oid })
    return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength)
  }

  /** Follows tags to the object they name; null when something on the way is missing. */
  async peel(oid: string): Promise<{ oid: string; type: string } | null> {
    for (let i = 0; i < 100; i++) {
      // The type from the object's header: a blob or tree is never read for it.
      const info = objectInfo(this.repo.odb, oid)
      if (!info) return null
      if (info.type !== 'tag') return { oid, type: info.type }
      oid = (await readTag({ ...this.at, oid })).tag.object
    }
    return null
  }
}
