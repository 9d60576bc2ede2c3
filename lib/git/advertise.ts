// Ref advertisements: v0 (both services) and the v2 capability list.
import { VERSION } from '../config.ts'
import { FLUSH, pkt } from './pktline.ts'
import { headTarget, listRefs, readRef } from './refs.ts'
import type { Ref } from './refs.ts'
import type { Repo } from './repo.ts'
import { Walker } from './walk.ts'
import { objectInfo } from './object-info.ts'
import { ZERO_OID } from './objects.ts'

const AGENT = `agent=convene/${VERSION}`
export type Service = 'git-upload-pack' | 'git-receive-pack'

const UPLOAD_CAPS = 'multi_ack_detailed side-band-64k thin-pack ofs-delta shallow deepen-since deepen-not deepen-relative no-progress include-tag allow-tip-sha1-in-want allow-reachable-sha1-in-want object-format=sha1'
const RECEIVE_CAPS = 'report-status report-status-v2 delete-refs side-band-64k quiet atomic ofs-delta push-options no-thin object-format=sha1'

export interface AdvertisedRef extends Ref {
  /** Target of an annotated tag. */
  peeled?: string
}

/** Refs with annotated tags peeled. */
export function refsWithPeeled(repo: Repo): AdvertisedRef[] {
  const w = new Walker(repo.odb)
  return listRefs(repo.dir).map((r) => {
    if (!r.name.startsWith('refs/tags/')) return r
    // The type from the object's header: a lightweight tag may point at a large blob, never read here.
    if (objectInfo(repo.odb, r.oid)?.type !== 'tag') return r
    const p = w.peel(r.oid)
    return p ? { ...r, peeled: p.oid } : r
  })
}

export function advertiseV0(repo: Repo, service: Service): Buffer[] {
  const out = [pkt(`# service=${service}\n`), FLUSH]
  const refs = refsWithPeeled(repo)
  const lines: string[] = []
  let caps = service === 'git-upload-pack' ? UPLOAD_CAPS : RECEIVE_CAPS
  if (service === 'git-upload-pack') {
    const target = headTarget(repo.dir)
    const head = readRef(repo.dir, target)
    if (head) {
      caps += ` symref=HEAD:${target}`
      lines.push(`${head} HEAD`)
    }
  }
  for (const r of refs) {
    lines.push(`${r.oid} ${r.name}`)
    if (r.peeled && service === 'git-upload-pack') lines.push(`${r.peeled} ${r.name}^{}`)
  }
  if (!lines.length) lines.push(`${ZERO_OID} capabilities^{}`)
  lines.forEach((l, i) => out.push(pkt(i === 0 ? `${l}\0${caps} ${AGENT}\n` : `${l}\n`)))
  out.push(FLUSH)
  return out
}

export function advertiseV2(): Buffer[] {
  const caps = ['version 2', AGENT, 'ls-refs=unborn', 'fetch=shallow', 'server-option', 'object-format=sha1']
  return [...caps.map((c) => pkt(`${c}\n`)), FLUSH]
}
