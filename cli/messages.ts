// `convene send|history|thread|unread|wait|tail|search|ack|status`: talking in a room as a stored agent.
import { UsageError, bool, intOpt, secondsOpt, str, type Opts } from './args.ts'
import type { Command, Ctx } from './context.ts'
import { messageLine, type Output } from './output.ts'
import type { Message } from '../client/index.ts'

const page: Opts = {
  limit: { type: 'string', arg: 'N', help: 'how many' },
  offset: { type: 'string', arg: 'N', help: 'how many to skip' },
}
const mentions: Opts = { mentions: { type: 'boolean', help: 'only DMs to you and messages that @mention you (the others count as read)' } }

/** The message text: the arguments, else standard input when it is not a terminal. */
async function textOf(ctx: Ctx): Promise<string> {
  if (ctx.args.length) return ctx.args.join(' ')
  if (process.stdin.isTTY) return ''
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '')
}

function printMessages(out: Output, value: { messages: Message[]; awaitingAck?: string[] }, me: string, none: string) {
  const lines = value.messages.map((m) => messageLine(m, { me }))
  if (value.awaitingAck?.length) lines.push(`${value.awaitingAck.length} ask(s) for an ack: convene ack ${value.awaitingAck.join(' ')}`)
  out.print(lines.length ? lines : none, value)
}

export const messageCommands: Command[] = [
  {
    name: 'send',
    usage: 'TEXT… [--to NAME] [--reply ID] [--ack]   (TEXT from stdin when absent)',
    summary: 'send a message to the room, or a direct message with --to',
    options: {
      to: { type: 'string', arg: 'NAME', help: 'a direct message to this agent only' },
      reply: { type: 'string', arg: 'ID', help: 'answer this message, in its thread' },
      ack: { type: 'boolean', help: 'ask the recipients to acknowledge it (convene ack)' },
    },
    async run(ctx) {
      const text = await textOf(ctx)
      if (!text) throw new UsageError('nothing to send: give the text as arguments or on stdin')
      const { client } = ctx.agent()
      const to = str(ctx.values, 'to')
      const r = await client.message.send({ text, to, replyTo: str(ctx.values, 'reply'), ackRequired: bool(ctx.values, 'ack') || undefined })
      ctx.out.print(`Sent ${to ? `to ${to}` : 'to the room'} (#${r.seq}, ${r.id}).`, r)
    },
  },
  {
    name: 'history',
    usage: '[--limit N] [--offset N]',
    summary: 'recent messages you may see, oldest first (does not mark them read)',
    options: page,
    async run(ctx) {
      const p = { limit: intOpt(ctx.values, 'limit', 1), offset: intOpt(ctx.values, 'offset') }
      const { client, cred } = ctx.agent()
      const r = await client.message.history(p)
      printMessages(ctx.out, r, cred.agent, 'No messages.')
    },
  },
  {
    name: 'thread',
    usage: 'ID [--limit N] [--offset N]',
    summary: 'a thread: its first message and the replies',
    options: page,
    async run(ctx) {
      const [threadId] = ctx.args
      if (!threadId || ctx.args.length > 1) throw new UsageError('give one message id: convene thread ID')
      const p = { threadId, limit: intOpt(ctx.values, 'limit', 1), offset: intOpt(ctx.values, 'offset') }
      const { client, cred } = ctx.agent()
      const r = await client.message.thread(p)
      printMessages(ctx.out, r, cred.agent, 'No messages.')
    },
  },
  {
    name: 'unread',
    usage: '[--peek] [--mentions]',
    summary: 'messages you have not seen yet, then marks them read (not with --peek)',
    options: { peek: { type: 'boolean', help: 'do not mark them read' }, ...mentions },
    async run(ctx) {
      const { client, cred } = ctx.agent()
      const r = await client.message.unread({ peek: bool(ctx.values, 'peek') || undefined, mentionsOnly: bool(ctx.values, 'mentions') || undefined })
      printMessages(ctx.out, r, cred.agent, 'No unread messages.')
    },
  },
  {
    name: 'wait',
    usage: '[--timeout SECONDS] [--mentions]',
    summary: 'wait until something arrives (then marks it read), or the timeout passes (default 30 s)',
    options: { timeout: { type: 'string', arg: 'SECONDS', help: 'how long to wait (default 30; any length)' }, ...mentions },
    async run(ctx) {
      const timeout = secondsOpt(ctx.values, 'timeout') ?? 30
      const { client, cred } = ctx.agent()
      const r = await client.wait({ timeout, mentionsOnly: bool(ctx.values, 'mentions') || undefined })
      printMessages(ctx.out, r, cred.agent, `No new messages in ${timeout} s.`)
    },
  },
  {
    name: 'tail',
    usage: '[--since SEQ] [--count N]',
    summary: 'follow the room live (reconnects and resumes on its own; Ctrl-C to stop)',
    options: {
      since: { type: 'string', arg: 'SEQ', help: 'first replay the messages after this seq' },
      count: { type: 'string', arg: 'N', help: 'stop after N messages' },
    },
    async run(ctx) {
      const since = intOpt(ctx.values, 'since')
      const count = intOpt(ctx.values, 'count', 1)
      const { client, cred } = ctx.agent()
      let opened = false
      let n = 0
      const stream = client.follow({
        after: since,
        onOpen: (after) => {
          ctx.out.note(`${opened ? 'Reconnected to' : 'Following'} ${cred.roomName} as ${cred.agent}${after !== undefined ? ` after #${after}` : ''}.`)
          opened = true
        },
        onRetry: (reason, ms) => ctx.out.note(`convene: stream lost (${reason}); reconnecting in ${(ms / 1000).toFixed(1)} s`),
      })
      for await (const m of stream) {
        ctx.out.print(`#${m.seq} ${messageLine(m, { me: cred.agent })}`, m)
        if (count !== undefined && ++n >= count) break
      }
    },
  },
  {
    name: 'search',
    usage: 'QUERY… [--from NAME] [--since ISO] [--until ISO] [--thread ID] [--limit N] [--offset N]',
    summary: 'full-text search over the messages you may see',
    options: {
      from: { type: 'string', arg: 'NAME', help: "only this sender's" },
      since: { type: 'string', arg: 'ISO', help: 'sent at or after (ISO 8601)' },
      until: { type: 'string', arg: 'ISO', help: 'sent before (ISO 8601)' },
      thread: { type: 'string', arg: 'ID', help: 'only in this thread' },
      ...page,
    },
    async run(ctx) {
      const query = ctx.args.join(' ')
      if (!query) throw new UsageError('what to search for? convene search WORDS')
      const p = {
        query,
        from: str(ctx.values, 'from'),
        since: str(ctx.values, 'since'),
        until: str(ctx.values, 'until'),
        threadId: str(ctx.values, 'thread'),
        limit: intOpt(ctx.values, 'limit', 1),
        offset: intOpt(ctx.values, 'offset'),
      }
      const { client } = ctx.agent()
      const r = await client.message.search(p)
      const lines = r.results.map((x) => `${x.message.from}${x.message.to ? ` → ${x.message.to}` : ''} [${x.message.id}]: ${x.snippet}`)
      ctx.out.print(lines.length ? [...lines, `${r.total} match(es)`] : 'No matches.', r)
    },
  },
  {
    name: 'ack',
    usage: 'ID…',
    summary: 'acknowledge messages that asked for it',
    options: {},
    async run(ctx) {
      if (!ctx.args.length) throw new UsageError('give the ids of the messages to acknowledge')
      const { client } = ctx.agent()
      const r = await client.message.ack({ messageIds: ctx.args })
      const again = r.alreadyAcknowledged.length ? ` (${r.alreadyAcknowledged.length} already were)` : ''
      ctx.out.print(`Acknowledged ${r.acknowledged.length} message(s)${again}.`, r)
    },
  },
  {
    name: 'status',
    usage: 'ID',
    summary: 'where a message you sent stands with each recipient',
    options: {},
    async run(ctx) {
      const [messageId] = ctx.args
      if (!messageId || ctx.args.length > 1) throw new UsageError('give one message id: convene status ID')
      const { client } = ctx.agent()
      const r = await client.message.status({ messageId })
      const c = r.counts
      ctx.out.print(
        [
          `#${r.seq}${r.to ? ` to ${r.to}` : ''}: ${c.sent} sent, ${c.delivered} delivered, ${c.read} read, ${c.acknowledged} acknowledged`,
          ...r.recipients.map((x) => `  ${x.agent}: ${x.state}${x.via ? ` (via ${x.via})` : ''} ${x.at}`),
        ],
        r,
      )
    },
  },
]
