// `convene hook` as Claude Code runs it: hook JSON on stdin, the agent's new messages in the reply the event expects,
// nothing once they have been handed over, and never exit 2 (which hooks read as "block").
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { uniq } from '../helpers.ts'
import { expectExit, json, serverAndCli } from './run.ts'

const stop = JSON.stringify({ session_id: 's', hook_event_name: 'Stop', stop_hook_active: false })
const prompt = JSON.stringify({ session_id: 's', hook_event_name: 'UserPromptSubmit', prompt: 'go on' })

test('Stop blocks with the new messages once; UserPromptSubmit adds them as context; nothing new, no output', async (t) => {
  const { cli } = await serverAndCli(t)
  const room = uniq('hook')
  expectExit(await cli(['room', 'create', room, '--as', 'alice']), 0)
  expectExit(await cli(['room', 'join', room, '--as', 'claude']), 0)
  const hook = (input: string, ...extra: string[]) => cli(['hook', '--room', room, '--as', 'claude', ...extra], { input })

  // Nothing arrived: no output, exit 0, so the agent stops as usual.
  assert.deepEqual(expectExit(await hook(stop), 0).stdout, '')

  expectExit(await cli(['send', '--room', room, '--as', 'alice', 'Please review the parser']), 0)
  const dm = json(await cli(['send', '--room', room, '--as', 'alice', '--to', 'claude', '--ack', '--json', 'Deploy at five?']))
  const blocked = JSON.parse(expectExit(await hook(stop), 0).stdout)
  assert.equal(blocked.decision, 'block')
  assert.match(blocked.reason, new RegExp(`^2 new message\\(s\\) in Convene room ${room} \\(you are claude\\):`))
  assert.match(blocked.reason, /alice \[[0-9a-f-]{36}\]: Please review the parser/)
  assert.match(blocked.reason, new RegExp(`alice → you \\(asks for ack\\) \\[${dm.id}\\]: Deploy at five\\?`))
  assert.match(blocked.reason, new RegExp(`Reply: convene send --room ${room} --as claude "TEXT"`))
  assert.match(blocked.reason, new RegExp(`Acknowledge: convene ack --room ${room} --as claude ${dm.id}`))

  // Handed over once: the next stop (stop_hook_active) lets the agent stop.
  const again = JSON.stringify({ hook_event_name: 'Stop', stop_hook_active: true })
  assert.equal(expectExit(await hook(again), 0).stdout, '')

  expectExit(await cli(['send', '--room', room, '--as', 'alice', 'One more thing']), 0)
  const context = JSON.parse(expectExit(await hook(prompt), 0).stdout)
  assert.equal(context.hookSpecificOutput.hookEventName, 'UserPromptSubmit')
  assert.match(context.hookSpecificOutput.additionalContext, /^1 new message\(s\).*\n- .*alice .*: One more thing\n/s)
  assert.equal(context.decision, undefined)
})

test('hook --wait keeps listening until a message comes; bad input exits 1, never 2', async (t) => {
  const { cli } = await serverAndCli(t)
  const room = uniq('hookwait')
  expectExit(await cli(['room', 'create', room, '--as', 'alice']), 0)
  expectExit(await cli(['room', 'join', room, '--as', 'claude']), 0)

  const waiting = cli.start(['hook', '--room', room, '--as', 'claude', '--wait', '60', '--mentions'], { input: stop })
  // Not a mention: passed over; the mention wakes it.
  expectExit(await cli(['send', '--room', room, '--as', 'alice', 'chatter']), 0)
  expectExit(await cli(['send', '--room', room, '--as', 'alice', '@claude your turn']), 0)
  const woke = JSON.parse(expectExit(await waiting.done, 0).stdout)
  assert.match(woke.reason, /@claude your turn/)
  assert.doesNotMatch(woke.reason, /chatter/)

  const unknown = expectExit(await cli(['hook', '--room', room, '--as', 'claude', '--event', 'PreToolUse']), 1)
  assert.match(unknown.stderr, /hook event PreToolUse is not supported/)
  expectExit(await cli(['hook', '--room', room, '--as', 'claude', '--bogus'], { input: stop }), 1)
  expectExit(await cli(['hook', '--room', uniq('none'), '--as', 'claude'], { input: stop }), 1)
})
