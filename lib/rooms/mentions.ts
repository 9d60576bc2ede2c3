// @mentions: which names a broadcast's body may be mentioning. The store keeps those that are names of agents
// in the room when the message is stored (lib stays free of an extra read per send).
import { agentNameProblem } from './names.ts'

/** An `@` that starts a word (so `alice@example.org` mentions nobody). */
const AT = /(?<![\p{L}\p{N}_])@/gu
/** Names may hold spaces: `@Claude Code` tries "Claude" and "Claude Code". */
const MAX_WORDS = 4
const MAX_NAME = 64
/** Enough for any sane message; a body full of `@` cannot make the insert's lookup large. */
const MAX_CANDIDATES = 100
const TRAILING = /[\p{P}\p{S}]+$/u

/**
 * Names that could follow each `@` in `body`: one to four words (up to the line's end), each also without its
 * trailing punctuation (`@bob,` → "bob," and "bob"), valid as agent names, deduplicated, in order of appearance.
 */
export function mentionCandidates(body: string): string[] {
  const out = new Set<string>()
  for (const match of body.matchAll(AT)) {
    const start = match.index + 1
    // eslint-disable-next-line no-control-regex
    const line = body.slice(start, start + MAX_NAME * 2 * MAX_WORDS).split(/[\u0000-\u001f\u007f]/, 1)[0]
    const words = line.split(' ')
    let name = ''
    for (let i = 0; i < Math.min(words.length, MAX_WORDS); i++) {
      name = i === 0 ? words[0] : `${name} ${words[i]}`
      if (name === '' || [...name].length > MAX_NAME) break
      for (const candidate of [name, name.replace(TRAILING, '')]) {
        if (candidate !== '' && agentNameProblem(candidate) === null) out.add(candidate)
        if (out.size >= MAX_CANDIDATES) return [...out]
      }
    }
  }
  return [...out]
}
