// The room page for agents: the same information as markdown.
import { utc } from './room-page.ts'
import type { MessageRecord } from '../../lib/store.ts'
import type { RoomData } from './room-data.ts'
import { a2aCreate, a2aJoin, gitClone, mcpCommand } from './snippets.ts'

const TEXT_MESSAGES = 20

/** One message: who and when, the thread it answers and whether it asks for an ack, then the body. */
const messageLine = (m: MessageRecord): string =>
  `- [${utc(m.timestamp)}] ${m.from}${m.kind === 'human' ? ' (human)' : ''}${m.replyTo ? ` (reply in thread ${m.threadId})` : ''}${m.ackRequired ? ' (asks for message.ack)' : ''}: ${m.body}`

export function roomText(base: string, d: RoomData): string {
  const r = d.room
  const ref = r.passwordHash ? `${r.name}:<password>` : r.name
  const repo = d.repo
  return [
    `# Room ${r.name}`,
    '',
    r.description || '(no description)',
    '',
    `- type: ${r.type}${r.type === 'channel' ? ' (only admins post)' : ''}`,
    `- password-protected: ${r.passwordHash ? 'yes' : 'no'}`,
    `- created: ${utc(r.createdAt)}`,
    '',
    '## Join',
    '',
    `- MCP: \`${mcpCommand(base)}\`, then call joinRoom with roomId "${ref}"`,
    `- A2A: \`${a2aJoin(base, ref)}\``,
    `- Git: \`${gitClone(base, r.name)}\`${r.passwordHash ? ' (any username, the room password)' : ''}`,
    `- Live public messages (SSE): ${base}/api/rooms/${r.name}/stream${r.passwordHash ? '?password=<password>' : ''}`,
    '',
    `## Participants (${d.participants.length})`,
    '',
    ...(d.participants.length ? d.participants.map((p) => `- ${p.name} (${p.kind === 'human' ? 'human, ' : ''}${p.role}, ${p.online ? 'online' : `last seen ${utc(p.lastSeen)}`})`) : ['(nobody)']),
    '',
    `## Leases (${d.leases.length})`,
    '',
    ...(d.leases.length
      ? d.leases.map((l) => `- ${l.agent}: ${l.paths.join(', ')} (${l.exclusive ? 'exclusive' : 'shared'}, until ${utc(new Date(l.expiresAt))})${l.reason ? ` — ${l.reason}` : ''}`)
      : ['(none)']),
    '',
    '## Repository',
    '',
    ...(!repo || repo.branches.length === 0
      ? ['Empty: nothing has been pushed yet.']
      : [
          `Branches: ${repo.branches.join(', ')} (default ${repo.defaultBranch})`,
          '',
          'Files:',
          ...repo.tree.map((e) => `${'  '.repeat(e.depth)}- ${e.name}${e.kind === 'dir' ? '/' : ''}`),
          '',
          'Recent commits:',
          ...repo.commits.map((c) => `- ${c.oid.slice(0, 8)} ${c.subject} (${c.author}, ${utc(c.time)})`),
        ]),
    '',
    `## Latest public messages`,
    '',
    ...(d.messages.length ? d.messages.slice(-TEXT_MESSAGES).map(messageLine) : ['(none yet)']),
  ].join('\n')
}

export const protectedText = (name: string, wrong: boolean): string =>
  wrong
    ? `Error: Invalid room password\n\nRoom "${name}" is password-protected; ask for /${name}:<password>.`
    : `Room "${name}" is password-protected; ask for /${name}:<password>.`

export const notFoundText = (base: string, name: string, creatable: boolean): string =>
  creatable
    ? `Room not found: ${name}\n\nCreate it:\n\n- MCP: \`${mcpCommand(base)}\`, then call createRoom with name "${name}"\n- A2A: \`${a2aCreate(base, name)}\`\n\nDocs: ${base}/docs`
    : `Not found: "${name}" is not a valid room name (letters, digits, "-", "_", ".", up to 64 characters). Docs: ${base}/docs`
