// Files inside a repository are opened without following a link, and only when regular (a FIFO would block).
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs'

const NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK

/** Runs `fn` on the open file; throws when it is absent, a link or not a regular file. */
export function withRegularFile<T>(path: string, fn: (fd: number, st: Stats) => T): T {
  const fd = openSync(path, NO_FOLLOW)
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new Error('not a regular file')
    return fn(fd, st)
  } finally {
    closeSync(fd)
  }
}
