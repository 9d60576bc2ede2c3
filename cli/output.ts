// How the CLI prints: text lines for people, JSON with --json; messages as one line each.
import type { Message } from '../client/index.ts'

export interface Output {
  json: boolean
  showToken: boolean
  /** Prints `value` as JSON with --json, else the text (lines). */
  print(text: string | string[], value: unknown): void
  /** A note on stderr (progress, hints): never part of the output proper. */
  note(text: string): void
}

export function output(json: boolean, showToken: boolean): Output {
  return {
    json,
    showToken,
    print(text, value) {
      if (json) process.stdout.write(`${JSON.stringify(value === undefined ? null : hideTokens(value, showToken))}\n`)
      else {
        const lines = Array.isArray(text) ? text : [text]
        if (lines.length) process.stdout.write(`${lines.join('\n')}\n`)
      }
    },
    note(text) {
      process.stderr.write(`${text}\n`)
    },
  }
}

/** A copy without `agentToken` fields, unless they were asked for. */
export function hideTokens(value: unknown, show: boolean): unknown {
  if (show || typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map((v) => hideTokens(v, show))
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'agentToken').map(([k, v]) => [k, hideTokens(v, show)]))
}

const time = (iso: string) => (iso.length >= 19 ? iso.slice(11, 19) : iso)

/** `12:00:01 alice → bob: text` (with the id of a message that asks for an ack, and reply marks). */
export function messageLine(m: Message, opts: { ids?: boolean; me?: string } = {}): string {
  const to = m.to ? ` → ${m.to === opts.me ? 'you' : m.to}` : ''
  const tags = [m.replyTo ? `reply to ${m.replyTo}` : '', m.ackRequired ? 'asks for ack' : '', m.kind === 'human' ? 'human' : '']
    .filter(Boolean)
    .join(', ')
  const id = opts.ids || m.ackRequired ? ` [${m.id}]` : ''
  return `${time(m.timestamp)} ${m.from}${to}${tags ? ` (${tags})` : ''}${id}: ${m.body}`
}

/** Columns padded to their widest cell. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd())
}
