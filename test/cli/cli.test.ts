// The `convene` binary against a real server: rooms, messages, DMs, tail, wait, leases, stored tokens, bad input.
import assert from 'node:assert/strict'
import { statSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { uniq } from '../helpers.ts'
import { closedPort, expectExit, json, serverAndCli } from './run.ts'

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`)
  assert.doesNotMatch(stderr, /\n\s+at |Error:/)
  return lines[0]
}

test('create, join, send, DM, history and unread as two agents; tokens stored 0600 and never printed', async (t) => {
  const { cli } = await serverAndCli(t)
  const room = uniq('cli')
  const created = expectExit(await cli(['room', 'create', room, '--as', 'alice']), 0)
  assert.match(created.stdout, new RegExp(`Created room ${room} \\(.+\\) as alice, its admin`))
  const joined = json(await cli(['room', 'join', room, '--as', 'bob', '--json']))
  assert.equal(joined.role, 'member')
  assert.equal(joined.agentToken, undefined, 'no token in the output unless asked')

  const file = `${cli.configHome}/convene/credentials.json`
  assert.equal(statSync(file).mode & 0o777, 0o600)
  const stored = JSON.parse(readFileSync(file, 'utf8')).credentials
  assert.deepEqual(stored.map((c: { agent: string }) => c.agent).sort(), ['alice', 'bob'])
  for (const c of stored) assert.doesNotMatch(created.stdout + JSON.stringify(joined), new RegExp(c.token))

  expectExit(await cli(['send', '--room', room, '--as', 'alice', 'Hello,', 'room!']), 0)
  const dm = json(await cli(['send', '--room', room, '--as', 'alice', '--to', 'bob', '--json', 'Psst, Bob.']))
  assert.equal(typeof dm.id, 'string')
  const unread = json(await cli(['unread', '--room', room, '--as', 'bob', '--json']))
  assert.deepEqual(unread.messages.map((m: { body: string }) => m.body), ['Hello, room!', 'Psst, Bob.'])
  assert.equal(expectExit(await cli(['unread', '--room', room, '--as', 'bob']), 0).stdout, 'No unread messages.\n')

  // Text from stdin, as a reply in the DM's thread.
  expectExit(await cli(['send', '--room', room, '--as', 'bob', '--reply', dm.id, '--to', 'alice'], { input: 'Hi Alice\n' }), 0)
  const history = expectExit(await cli(['history', '--room', room, '--as', 'bob']), 0).stdout
  assert.match(history, /room-bot: alice created the room/)
  assert.match(history, /alice: Hello, room!/)
  assert.match(history, /alice → you: Psst, Bob\./)
  assert.match(history, new RegExp(`bob → alice \\(reply to ${dm.id}\\): Hi Alice`))

  // A third agent never sees the DM.
  expectExit(await cli(['room', 'join', room, '--as', 'carol']), 0)
  const carol = json(await cli(['history', '--room', room, '--as', 'carol', '--json']))
  assert.ok(!carol.messages.some((m: { body: string }) => m.body.includes('Psst')))

  // --show-token prints it, and it is the stored one.
  const shown = json(await cli(['room', 'join', room, '--as', 'bob', '--json', '--show-token']))
  assert.equal(shown.agentToken, stored.find((c: { agent: string }) => c.agent === 'bob').token)
})

test('tail follows the room live and resumes from a seq; wait returns what arrives', async (t) => {
  const { cli } = await serverAndCli(t)
  const room = uniq('tail')
  expectExit(await cli(['room', 'create', room, '--as', 'alice']), 0)
  expectExit(await cli(['room', 'join', room, '--as', 'bob']), 0)

  const tail = cli.start(['tail', '--room', room, '--as', 'bob', '--json', '--count', '2'])
  await tail.waitFor(`Following ${room} as bob`, 'stderr')
  expectExit(await cli(['send', '--room', room, '--as', 'alice', 'first live']), 0)
  expectExit(await cli(['send', '--room', room, '--as', 'alice', '--to', 'bob', 'second live']), 0)
  const r = expectExit(await tail.done, 0)
  const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.deepEqual(got.map((m) => [m.from, m.to, m.body]), [['alice', undefined, 'first live'], ['alice', 'bob', 'second live']])

  // Resume: everything after the first one, replayed from the store.
  const again = expectExit(await cli(['tail', '--room', room, '--as', 'bob', '--since', String(got[0].seq), '--count', '1']), 0)
  assert.match(again.stdout, new RegExp(`^#${got[1].seq} .* alice → you: second live\\n$`))

  // wait: with nothing unread (tail marks nothing read), it blocks until alice writes.
  expectExit(await cli(['unread', '--room', room, '--as', 'bob']), 0)
  const waiting = cli.start(['wait', '--room', room, '--as', 'bob', '--timeout', '30', '--json'])
  expectExit(await cli(['send', '--room', room, '--as', 'alice', 'wake up']), 0)
  const woke = JSON.parse(expectExit(await waiting.done, 0).stdout)
  assert.ok(woke.messages.some((m: { body: string }) => m.body === 'wake up'))
  const quiet = expectExit(await cli(['wait', '--room', room, '--as', 'bob', '--timeout', '0.2']), 0)
  assert.equal(quiet.stdout, 'No new messages in 0.2 s.\n')
})

test('search, ack and status, leases, call and git-url', async (t) => {
  const { cli } = await serverAndCli(t)
  const room = uniq('more')
  expectExit(await cli(['room', 'create', room, '--as', 'alice']), 0)
  expectExit(await cli(['room', 'join', room, '--as', 'bob']), 0)
  const ask = json(await cli(['send', '--room', room, '--as', 'alice', '--to', 'bob', '--ack', '--json', 'Deploy at five?']))
  const found = json(await cli(['search', '--room', room, '--as', 'bob', '--json', 'deploy']))
  assert.deepEqual(found.results.map((x: { message: { id: string } }) => x.message.id), [ask.id])
  assert.match(expectExit(await cli(['unread', '--room', room, '--as', 'bob']), 0).stdout, new RegExp(`1 ask\\(s\\) for an ack: convene ack ${ask.id}`))
  assert.match(expectExit(await cli(['ack', '--room', room, '--as', 'bob', ask.id]), 0).stdout, /Acknowledged 1 message\(s\)\./)
  assert.match(expectExit(await cli(['status', '--room', room, '--as', 'alice', ask.id]), 0).stdout, /bob: acknowledged/)

  assert.match(expectExit(await cli(['lease', 'acquire', '--room', room, '--as', 'alice', 'src/**', '--reason', 'api']), 0).stdout, /Leased src\/\*\* \(exclusive\)/)
  const clash = expectExit(await cli(['lease', 'acquire', '--room', room, '--as', 'bob', 'src/a.ts']), 1)
  assert.match(oneLine(clash.stderr), /^convene lease acquire: src\/a\.ts conflicts with alice's exclusive lease on src\/\*\*/)
  const leases = json(await cli(['lease', 'list', '--room', room, '--as', 'bob', '--json']))
  assert.deepEqual(leases.leases.map((l: { agent: string; reason: string }) => [l.agent, l.reason]), [['alice', 'api']])
  assert.match(expectExit(await cli(['lease', 'release', '--room', room, '--as', 'alice']), 0).stdout, /Released src\/\*\*/)

  // Any action by name, the stored agent's token filled in.
  assert.match(expectExit(await cli(['call', '--room', room, '--as', 'alice', 'room.promote', 'targetAgent=bob']), 0).stdout, /bob/)
  const info = json(await cli(['room', 'info', room, '--json']))
  assert.deepEqual(info.agents.map((a: { name: string; role: string }) => [a.name, a.role]), [['alice', 'admin'], ['bob', 'admin']])

  const url = expectExit(await cli(['git-url', '--room', room, '--as', 'bob']), 0).stdout.trim()
  const token = JSON.parse(readFileSync(`${cli.configHome}/convene/credentials.json`, 'utf8')).credentials.find((c: { agent: string }) => c.agent === 'bob').token
  assert.equal(new URL(url).username, 'bob')
  assert.equal(new URL(url).password, token)
  assert.match(new URL(url).pathname, new RegExp(`^/rooms/${info.roomId}\\.git$`))
})

test('bad input: one line on stderr and the right exit code', async (t) => {
  const { cli } = await serverAndCli(t)
  const room = uniq('bad')

  assert.match(oneLine(expectExit(await cli(['send', '--bogus', 'x']), 2).stderr), /^convene send: unknown option --bogus/)
  assert.match(oneLine(expectExit(await cli(['frobnicate']), 2).stderr), /unknown command: frobnicate/)
  assert.match(oneLine(expectExit(await cli(['room', 'join', room]), 2).stderr), /--as NAME is required/)
  assert.match(oneLine(expectExit(await cli(['history']), 2).stderr), /--room is required/)
  assert.match(oneLine(expectExit(await cli(['history', '--limit', 'many', '--room', room]), 2).stderr), /--limit must be a whole number/)
  // A room nobody joined here, and one that does not exist.
  assert.match(oneLine(expectExit(await cli(['send', '--room', room, '--as', 'alice', 'hi']), 1).stderr), /not joined to/)
  assert.match(oneLine(expectExit(await cli(['room', 'join', room, '--as', 'alice']), 1).stderr), new RegExp(`Room not found: ${room}`))

  // A token that no longer works: bob was kicked.
  expectExit(await cli(['room', 'create', room, '--as', 'alice']), 0)
  expectExit(await cli(['room', 'join', room, '--as', 'bob']), 0)
  expectExit(await cli(['call', '--room', room, '--as', 'alice', 'room.kick', 'targetAgent=bob']), 0)
  const kicked = expectExit(await cli(['send', '--room', room, '--as', 'bob', 'still here?']), 1)
  assert.match(oneLine(kicked.stderr), /the stored token of bob in .* no longer works .*convene room join/)
  // Two agents stored for the room: which one must be said.
  assert.match(oneLine(expectExit(await cli(['history', '--room', room]), 2).stderr), /pick an agent with --as \(stored in .*: alice, bob\)/)

  // An unreachable server.
  const port = await closedPort()
  const down = expectExit(await cli(['room', 'list', '--server', `http://127.0.0.1:${port}`]), 1)
  assert.equal(oneLine(down.stderr), `convene room list: cannot reach http://127.0.0.1:${port}: connection refused`)
  assert.match(oneLine(expectExit(await cli(['room', 'list', '--server', 'ftp://x']), 2).stderr), /--server must be an http\(s\) URL/)
})
