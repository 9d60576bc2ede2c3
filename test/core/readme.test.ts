// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { startApp, uniq } from '../helpers.ts'

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

test('the README curl walkthrough works verbatim', async (t) => {
  const srv = await startApp(t)
  const script = /<!-- walkthrough -->\n```sh\n([\s\S]*?)```/.exec(README)?.[1]
  assert.ok(script, 'walkthrough block present')
  const room = uniq('my-room') // the suite may share a database with other runs
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script.replaceAll('my-room', room)], {
    env: { ...process.env, CONVENE: srv.url },
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (b) => (out += b))
  child.stderr.on('data', (b) => (err += b))
  const code = await new Promise((r) => child.on('close', r))
  assert.equal(code, 0, err)
  assert.equal(
    out.trim(),
    [
      'Message sent',
      'Message sent',
      'room-bot: alice created the room',
      'room-bot: bob joined the room',
      'alice: Hello, room!',
      'alice → bob: Psst, Bob.',
      '2 unread message(s)',
    ].join('\n'),
  )
})

test('the README configuration table lists every setting', async () => {
  const source = readFileSync(new URL('../../lib/config.ts', import.meta.url), 'utf8')
  const vars = [...source.matchAll(/env: '([A-Z0-9_]+)'/g)].map((m) => m[1])
  assert.ok(vars.length > 5)
  for (const v of vars) assert.ok(README.includes(`| \`${v}\` |`), `README documents ${v}`)
})
