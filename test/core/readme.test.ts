// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test, type TestContext } from 'node:test'
import { ACTIONS } from '../../lib/actions/index.ts'
import { startApp, uniq } from '../helpers.ts'
import { runScript } from '../spawn.ts'

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

const WALKTHROUGH = /<!-- walkthrough -->\n```sh\n([\s\S]*?)```/.exec(README)?.[1]
const WALKTHROUGH_OUT = [
  'Message sent',
  'Message sent',
  'room-bot: alice created the room',
  'room-bot: bob joined the room',
  'alice: Hello, room!',
  'alice → bob: Psst, Bob.',
  '2 unread message(s)',
]

/** Runs a README shell script against a fresh server; returns its output. */
async function run(t: TestContext, script: string): Promise<string> {
  const srv = await startApp(t)
  const room = uniq('my-room') // the suite may share a database with other runs
  const { code, out, err } = await runScript(script.replaceAll('my-room', room), { ...process.env, CONVENE: srv.url })
  assert.equal(code, 0, err)
  return out.trim()
}

test('the README curl walkthrough works verbatim', async (t) => {
  assert.ok(WALKTHROUGH, 'walkthrough block present')
  assert.equal(await run(t, WALKTHROUGH), WALKTHROUGH_OUT.join('\n'))
})

test('the README threads and mentions example continues the walkthrough verbatim', async (t) => {
  const script = /### Threads and mentions\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(README)?.[1]
  assert.ok(WALKTHROUGH && script, 'both blocks present')
  const out = await run(t, WALKTHROUGH + script)
  assert.equal(out, [...WALKTHROUGH_OUT, 'Message sent', 'alice: Hello, room!', 'bob: Hi @alice!', 'bob: Hi @alice!'].join('\n'))
})

test('the README search example continues the walkthrough verbatim', async (t) => {
  const script = /### Search\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(README)?.[1]
  assert.ok(WALKTHROUGH && script, 'both blocks present')
  const out = await run(t, WALKTHROUGH + script)
  assert.equal(out, [...WALKTHROUGH_OUT, 'alice: «Psst», Bob.', 'alice: «Hello», room!'].join('\n'))
})

test('the README receipts example continues the walkthrough verbatim', async (t) => {
  const script = /### Delivery receipts\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(README)?.[1]
  assert.ok(WALKTHROUGH && script, 'both blocks present')
  const out = await run(t, WALKTHROUGH + script)
  assert.equal(out, [...WALKTHROUGH_OUT, '1 awaiting ack', 'Acknowledged 1 message(s)', 'bob: acknowledged (via unread)'].join('\n'))
})

test('the README leases example continues the walkthrough verbatim', async (t) => {
  const script = /### Path leases\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(README)?.[1]
  assert.ok(WALKTHROUGH && script, 'both blocks present')
  const out = await run(t, WALKTHROUGH + script)
  assert.equal(out, [...WALKTHROUGH_OUT, 'Leased 1 pattern(s)', "Error: src/api/routes.ts conflicts with alice's exclusive lease on src/api/**"].join('\n'))
})

test('the README action table lists every action with its MCP tool', () => {
  const rows = README.split('\n').filter((l) => l.startsWith('| `'))
  for (const a of ACTIONS.filter((x) => x.tool !== null)) {
    assert.ok(rows.some((r) => r.includes(`\`${a.name}\``) && r.includes(`\`${a.tool}\``)), `README table lists ${a.name} / ${a.tool}`)
  }
})

test('the README configuration table lists every setting', async () => {
  const source = readFileSync(new URL('../../lib/config.ts', import.meta.url), 'utf8')
  const vars = [...source.matchAll(/env: '([A-Z0-9_]+)'/g)].map((m) => m[1])
  assert.ok(vars.length > 5)
  for (const v of vars) assert.ok(README.includes(`| \`${v}\` |`), `README documents ${v}`)
})
