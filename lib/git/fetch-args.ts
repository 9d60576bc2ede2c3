// The arguments of one fetch request (v0 and v2 alike): wants, haves, shallow and deepen lines, capabilities.
import { ProtocolError } from './pktline.ts'
import { validRefShorthand } from './refs.ts'
import { isOid } from './objects.ts'
import type { DeepenRequest } from './shallow.ts'

export interface FetchArgs {
  wants: string[]
  haves: string[]
  shallow: Set<string>
  deepen: DeepenRequest
  deepenNotRefs: string[]
  /** Depth counts from the client's current shallow commits. */
  deepenRelative: boolean
  done: boolean
  sideband: boolean
  ofsDelta: boolean
  includeTag: boolean
}

export const newArgs = (): FetchArgs => ({
  wants: [],
  haves: [],
  shallow: new Set(),
  deepen: {},
  deepenNotRefs: [],
  deepenRelative: false,
  done: false,
  sideband: true,
  ofsDelta: false,
  includeTag: false,
})

export const isDeepen = (a: FetchArgs) => a.deepen.depth !== undefined || a.deepen.since !== undefined || a.deepenNotRefs.length > 0

/** Client text quoted in an error: escaped and cut short. */
export const quote = (s: string) => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s)

/** Parses want/shallow/deepen lines shared by v0 and v2; false if the line is something else. */
export function parseShared(line: string, a: FetchArgs): boolean {
  const sp = line.indexOf(' ')
  const word = sp < 0 ? line : line.slice(0, sp)
  const arg = sp < 0 ? '' : line.slice(sp + 1)
  if (word === 'want' || word === 'have' || word === 'shallow') {
    if (!isOid(arg)) throw new ProtocolError(`invalid ${word} line`)
    if (word === 'want') a.wants.push(arg)
    else if (word === 'have') a.haves.push(arg)
    else a.shallow.add(arg)
  } else if (word === 'deepen') {
    // git's own bound: a positive int
    if (!/^[1-9][0-9]{0,9}$/.test(arg) || Number(arg) > 2 ** 31 - 1) throw new ProtocolError(`invalid deepen ${quote(arg)}: expected a positive depth`)
    a.deepen.depth = Number(arg)
  } else if (word === 'deepen-since') {
    if (!/^[0-9]{1,15}$/.test(arg)) throw new ProtocolError(`invalid deepen-since ${quote(arg)}: expected seconds since the epoch`)
    a.deepen.since = Number(arg)
  } else if (word === 'deepen-not') {
    if (!validRefShorthand(arg)) throw new ProtocolError(`invalid deepen-not ${quote(arg)}: not a valid ref name`)
    a.deepenNotRefs.push(arg)
  } else if (line === 'deepen-relative') {
    a.deepenRelative = true
  } else return false
  return true
}
