// A git bundle (v2) of a bare repository, without the git binary: a header naming HEAD and every ref, then one
// pack of every object they reach. `git clone <file>` and `git fetch <file>` read it (operator exports).
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { ObjectStore } from './odb.ts'
import { writePack } from './pack-writer.ts'
import { headTarget, listRefs, readRef, type Ref } from './refs.ts'
import { markReachable, Walker } from './walk.ts'

export interface BundleResult {
  refs: Ref[]
  /** What HEAD points at (a branch), when that branch exists. */
  head: string | null
  objects: number
  bytes: number
}

/**
 * Writes the bundle of `gitDir` to `file`; null (and no file) when the repository has no refs, since git cannot
 * read a bundle without any. Run it while no push moves the refs (hold the repository's lock).
 */
export async function writeBundle(gitDir: string, file: string): Promise<BundleResult | null> {
  const refs = listRefs(gitDir)
  if (refs.length === 0) return null
  const target = headTarget(gitDir)
  const headOid = readRef(gitDir, target)
  const odb = new ObjectStore(join(gitDir, 'objects'))
  try {
    odb.refresh()
    const objects = new Set<string>()
    await markReachable(new Walker(odb), refs.map((r) => r.oid), objects, 'throw')
    const lines = ['# v2 git bundle', ...(headOid ? [`${headOid} HEAD`] : []), ...refs.map((r) => `${r.oid} ${r.name}`)]
    const fh = await open(file, 'w', 0o600)
    let bytes = 0
    try {
      const header = Buffer.from(`${lines.join('\n')}\n\n`)
      await fh.write(header)
      bytes += header.length
      for (const chunk of writePack(odb, objects, { ofsDelta: true })) {
        await fh.write(chunk)
        bytes += chunk.length
      }
      await fh.sync()
    } finally {
      await fh.close()
    }
    return { refs, head: headOid ? target : null, objects: objects.size, bytes }
  } finally {
    odb.close()
  }
}
