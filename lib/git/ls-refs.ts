// Protocol v2 `ls-refs`: the refs (and HEAD) a client asks for, filtered by prefix.
import { FLUSH, pkt, ProtocolError } from './pktline.ts'
import { headTarget, readRef } from './refs.ts'
import { refsWithPeeled } from './advertise.ts'
import type { Repo } from './repo.ts'
import { quote } from './fetch-args.ts'

/** More ref-prefix lines than this mean "all refs" (as in git), so matching stays cheap. */
const MAX_REF_PREFIXES = 256

/** v2 `ls-refs`. Prefixes only filter names already listed; they never reach the filesystem. */
export function lsRefs(repo: Repo, args: string[]): Buffer[] {
  let prefixes: string[] = []
  for (const x of args) {
    if (x.startsWith('ref-prefix ')) prefixes.push(x.slice(11))
    else if (!['symrefs', 'peel', 'unborn'].includes(x)) throw new ProtocolError(`unexpected ls-refs argument ${quote(x)}`)
  }
  if (prefixes.length > MAX_REF_PREFIXES) prefixes = []
  const symrefs = args.includes('symrefs')
  const peel = args.includes('peel')
  const unborn = args.includes('unborn')
  const match = (n: string) => !prefixes.length || prefixes.some((p) => n.startsWith(p))
  const out: Buffer[] = []
  if (match('HEAD')) {
    const target = headTarget(repo.dir)
    const oid = readRef(repo.dir, target)
    const sym = symrefs ? ` symref-target:${target}` : ''
    if (oid) out.push(pkt(`${oid} HEAD${sym}\n`))
    else if (unborn) out.push(pkt(`unborn HEAD${sym}\n`))
  }
  for (const r of refsWithPeeled(repo)) {
    if (!match(r.name)) continue
    out.push(pkt(`${r.oid} ${r.name}${peel && r.peeled ? ` peeled:${r.peeled}` : ''}\n`))
  }
  out.push(FLUSH)
  return out
}
