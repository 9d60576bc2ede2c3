// A room repository's size on disk, which REPO_QUOTA_BYTES bounds.
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'

/** Bytes stored under a repository directory (0 if it does not exist yet). */
export async function repoBytes(dir: string): Promise<number> {
  let total = 0
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const e of entries) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) total += await repoBytes(p)
    else if (e.isFile()) total += (await stat(p).catch(() => ({ size: 0 }))).size
  }
  return total
}
