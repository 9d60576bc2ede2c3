// Who may change a ref how: anyone who may push creates refs and fast-forwards branches; rewriting (a
// non-fast-forward, or moving a tag) and deleting need an agent of the room; the default branch (HEAD's
// target) needs an admin for both. Branches point at commits.
import { ZERO_OID } from './objects.ts'
import type { ObjectType } from './pack-format.ts'

/** The agent behind a push's credentials; null for an anonymous push (or one with the room password). */
export interface Pusher {
  name: string
  admin: boolean
}

export type Change = 'create' | 'fast-forward' | 'rewrite' | 'delete'

export const CREDENTIALS_HINT = '(git user = agent name, password = agentToken)'
/** For a client that streamed its push: git sends credentials only with a body it can send twice. */
export const STREAMED_HINT = '(git user = agent name, password = agentToken; for a push this large git sends them only with -c http.postBuffer=<more bytes than the push>)'

/** What an update does to a ref; `fastForward` is asked only for a branch (or other ref) that moves. */
export function classify(name: string, old: string, neu: string, fastForward: () => boolean): Change {
  if (old === ZERO_OID) return 'create'
  if (neu === ZERO_OID) return 'delete'
  if (name.startsWith('refs/tags/')) return 'rewrite'
  return fastForward() ? 'fast-forward' : 'rewrite'
}

/** The `ng` reason for this change by this pusher, or null when it is allowed; `credentials` says how to send them. */
export function refusal(name: string, change: Change, pusher: Pusher | null, defaultBranch: string, credentials = CREDENTIALS_HINT): string | null {
  if (change === 'create' || change === 'fast-forward') return null
  const hint = pusher ? '' : ` ${credentials}`
  if (name === defaultBranch) {
    if (pusher?.admin) return null
    return change === 'delete'
      ? `deleting the default branch needs an admin of the room${hint}`
      : `non-fast-forward: rewriting the default branch needs an admin of the room${hint}`
  }
  if (pusher) return null
  if (change === 'delete') return `deleting needs an agent of the room${hint}`
  if (name.startsWith('refs/tags/')) return `moving a tag needs an agent of the room${hint}`
  return `non-fast-forward: rewriting history needs an agent of the room${hint}`
}

/** The `ng` reason when a branch would point at something other than a commit (as in C git); null: unreadable. */
export function targetRefusal(name: string, type: ObjectType | null): string | null {
  return name.startsWith('refs/heads/') && type !== 'commit' ? 'branch must point at a commit' : null
}
