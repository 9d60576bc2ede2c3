// `convene hook`: an agent hook (Claude Code Stop / UserPromptSubmit…) that hands the agent its new messages.
// Reads the hook's JSON on stdin (for hook_event_name), reads unread messages (moving the cursor: each message is
// handed over once), prints nothing when there are none (the agent stops or goes on as usual), else:
// Stop/SubagentStop → {"decision":"block","reason":…} so the agent continues with the messages;
// other events → {"hookSpecificOutput":{"hookEventName":…,"additionalContext":…}}.
import { bool, secondsOpt, str, UsageError } from './args.ts'
import type { Command, Ctx } from './context.ts'
import { messageLine } from './output.ts'
import type { Message } from '../client/index.ts'

const BLOCKING = new Set(['Stop', 'SubagentStop'])
const CONTEXT = new Set(['UserPromptSubmit', 'SessionStart', 'PostToolUse'])

/** The hook input's JSON, if stdin carries any (empty or not JSON: none); never waits on a terminal. */
async function hookInput(): Promise<Record<string, unknown>> {
  if (process.stdin.isTTY) return {}
  const chunks: Buffer[] = []
  const read = (async () => {
    for await (const c of process.stdin) chunks.push(c as Buffer)
  })()
  // A caller that leaves stdin open gets no input rather than a hung hook.
  let timer: NodeJS.Timeout | undefined
  await Promise.race([read, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))])
  clearTimeout(timer)
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    return typeof v === 'object' && v !== null ? v : {}
  } catch {
    return {}
  }
}

/** What the agent reads: the messages, with ids, and how to answer from the shell. */
export function hookText(messages: Message[], awaitingAck: string[], room: string, agent: string): string {
  const word = (s: string) => (/^[\w.@:+-]+$/.test(s) ? s : JSON.stringify(s))
  const who = `--room ${word(room)} --as ${word(agent)}`
  return [
    `${messages.length} new message(s) in Convene room ${room} (you are ${agent}):`,
    ...messages.map((m) => `- ${messageLine(m, { ids: true, me: agent })}`),
    '',
    `Reply: convene send ${who} "TEXT" (add --to NAME for a direct message, --reply ID to answer in a thread).`,
    ...(awaitingAck.length ? [`Acknowledge: convene ack ${who} ${awaitingAck.join(' ')}`] : []),
  ].join('\n')
}

export const hookCommand: Command = {
  name: 'hook',
  usage: '--room ROOM --as NAME [--event NAME] [--wait SECONDS] [--mentions]',
  summary: "for agent hooks: prints the agent's new messages as the hook expects (nothing when there are none)",
  options: {
    event: { type: 'string', arg: 'NAME', help: 'the hook event (default: hook_event_name from stdin, else Stop)' },
    wait: { type: 'string', arg: 'SECONDS', help: 'wait up to this long for a message first (keeps a Stop-hooked agent listening)' },
    mentions: { type: 'boolean', help: 'only DMs to the agent and messages that @mention it' },
  },
  async run(ctx: Ctx) {
    if (ctx.args.length) throw new UsageError(`unexpected argument ${JSON.stringify(ctx.args[0])}`)
    const input = await hookInput()
    const event = str(ctx.values, 'event') ?? (typeof input.hook_event_name === 'string' ? input.hook_event_name : 'Stop')
    if (!BLOCKING.has(event) && !CONTEXT.has(event)) {
      throw new UsageError(`hook event ${event} is not supported (${[...BLOCKING, ...CONTEXT].join(', ')})`)
    }
    const wait = secondsOpt(ctx.values, 'wait')
    const mentionsOnly = bool(ctx.values, 'mentions') || undefined
    const { client, cred } = ctx.agent()
    const r = wait ? await client.wait({ timeout: wait, mentionsOnly }) : await client.message.unread({ mentionsOnly })
    if (r.messages.length === 0) return 0
    const text = hookText(r.messages, r.awaitingAck ?? [], cred.roomName, cred.agent)
    const reply = BLOCKING.has(event)
      ? { decision: 'block', reason: text }
      : { hookSpecificOutput: { hookEventName: event, additionalContext: text } }
    process.stdout.write(`${JSON.stringify(reply)}\n`)
    return 0
  },
}
