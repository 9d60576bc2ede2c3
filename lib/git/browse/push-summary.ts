// Text of the room-bot notice after a push: new commits per updated branch, read through isomorphic-git.
import { ZERO_OID } from '../objects.ts'
import type { AppliedUpdate } from '../receive-pack.ts'
import type { Repo } from '../repo.ts'
import { subject, walkCommits } from './commits.ts'
import { RepoReader } from './reader.ts'

/**
 * One line per updated ref, e.g. `Git push to main — 2 commit(s): Fix x; Add y`, or with the agent whose
 * token made the push: `Git push to main by alice — 2 commit(s): …`, `Git push by alice: deleted branch x`.
 */
export async function summarizePush(repo: Repo, updates: AppliedUpdate[], refsBefore: string[], by?: string): Promise<string> {
  const r = new RepoReader(repo)
  const lines: string[] = []
  const agent = by ? ` by ${by}` : ''
  for (const u of updates) {
    const short = u.name.replace(/^refs\/(heads|tags)\//, '')
    if (u.new === ZERO_OID) {
      lines.push(`Git push${agent}: deleted ${u.name.startsWith('refs/tags/') ? 'tag' : 'branch'} ${short}`)
      continue
    }
    if (!u.name.startsWith('refs/heads/')) {
      lines.push(`Git push${agent}: ${u.name.startsWith('refs/tags/') ? 'tag' : 'ref'} ${short}`)
      continue
    }
    const exclude = u.old === ZERO_OID ? refsBefore : [u.old]
    const { commits, more } = await walkCommits(r, u.new, exclude, 50, 'throw')
    const subjects = commits.slice(0, 3).map((c) => subject(c.commit))
    const rest = more || commits.length > 3 ? ' …' : ''
    const count = more ? `${commits.length}+` : `${commits.length}`
    lines.push(`Git push to ${short}${agent} — ${count} commit(s)${subjects.length ? `: ${subjects.join('; ')}${rest}` : ''}`)
  }
  return lines.join('\n')
}
