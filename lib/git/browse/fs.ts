// The `fs` that isomorphic-git reads a repository through: a read-only view served from our own object store.
import { adler32 } from '../inflate.ts'
import { readWithin } from '../object-info.ts'
import type { ObjectStore } from '../odb.ts'

/** Largest object isomorphic-git is handed: a commit, tree or shown file, and anything its delta chain builds. */
const MAX_OBJECT_READ = 16 * 2 ** 20
/** Where isomorphic-git believes the repository is; no such directory is ever opened. */
export const GITDIR = '/repo.git'

export class ObjectTooLarge extends Error {
  readonly code = 'ObjectTooLarge'
}

const OBJECTS = `${GITDIR}/objects/`

const fail = (code: string, path: unknown) => Object.assign(new Error(`${code}: ${String(path)}`), { code })
/** isomorphic-git calls readFile() with no path on every call, to see whether it returns a promise. */
const NO_PATH = fail('ENOENT', '')

const STORED_MAX = 65535

/** `data` as a zlib stream of stored deflate blocks: isomorphic-git inflates it again at once, so it is not compressed. */
function storedZlib(data: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / STORED_MAX))
  const out = Buffer.allocUnsafe(2 + 5 * blocks + data.length + 4)
  out[0] = 0x78
  out[1] = 0x01
  let o = 2
  for (let b = 0, at = 0; b < blocks; b++, at += STORED_MAX) {
    const n = Math.min(STORED_MAX, data.length - at)
    out[o] = b === blocks - 1 ? 1 : 0
    out.writeUInt16LE(n, o + 1)
    out.writeUInt16LE(~n & 0xffff, o + 3)
    o += 5 + data.copy(out, o + 5, at, at + n)
  }
  out.writeUInt32BE(adler32(1, data, 0, data.length), o)
  return out
}

/**
 * isomorphic-git asks for loose objects by path: each is answered from the object store, which opens nothing
 * through a link, reads regular files only and learns an object's size from headers before inflating it
 * (refused above MAX_OBJECT_READ). Nothing else exists: no refs (callers read them with refs.ts), no config, and an
 * empty pack directory, since isomorphic-git would read a whole pack into memory. Every write fails.
 */
export function repoFs(odb: ObjectStore) {
  const readonly = async (path: unknown, ..._: unknown[]): Promise<never> => {
    throw fail('EROFS', path)
  }
  const missing = async (path: unknown, ..._: unknown[]): Promise<never> => {
    throw fail('ENOENT', path)
  }
  return {
    promises: {
      async readFile(path: string): Promise<Buffer> {
        if (typeof path !== 'string') throw NO_PATH
        const m = path.startsWith(OBJECTS) ? /^([0-9a-f]{2})\/([0-9a-f]{38})$/.exec(path.slice(OBJECTS.length)) : null
        if (!m) throw fail('ENOENT', path)
        const o = readWithin(odb, m[1] + m[2], MAX_OBJECT_READ)
        if (o === 'too-large') throw new ObjectTooLarge(`object ${m[1]}${m[2]} is larger than ${MAX_OBJECT_READ} bytes`)
        if (!o) throw fail('ENOENT', path)
        return storedZlib(Buffer.concat([Buffer.from(`${o.type} ${o.data.length}\0`), o.data]))
      },
      async stat(path: string) {
        if (path !== GITDIR) throw fail('ENOENT', path)
        return { isDirectory: () => true, isFile: () => false, isSymbolicLink: () => false }
      },
      lstat: missing,
      readdir: missing,
      readlink: missing,
      writeFile: readonly,
      mkdir: readonly,
      rmdir: readonly,
      unlink: readonly,
      symlink: readonly,
    },
  }
}
