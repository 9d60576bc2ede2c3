// store-independent: the README's CLI walkthrough, run verbatim with `convene` on the PATH against a real server.
import assert from 'node:assert/strict'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { startApp, tempDir, uniq } from '../helpers.ts'
import { runScript } from '../spawn.ts'
import { BIN } from './run.ts'

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

test('the README CLI walkthrough works verbatim', async (t) => {
  const script = /<!-- cli walkthrough -->\n```sh\n([\s\S]*?)```/.exec(README)?.[1]
  assert.ok(script, 'cli walkthrough block present')
  const { url } = await startApp(t)
  const bin = tempDir(t)
  const dir = tempDir(t)
  writeFileSync(join(bin, 'convene'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(join(bin, 'convene'), 0o755)
  const room = uniq('my-room') // the suite may share a database with other runs
  const env: Record<string, string | undefined> = { ...process.env, PATH: `${bin}:${process.env.PATH}`, CONVENE_URL: url, XDG_CONFIG_HOME: dir }
  for (const k of ['CONVENE_ROOM', 'CONVENE_AS']) delete env[k]
  const { code, out, err } = await runScript(script.replaceAll('my-room', room), env)
  assert.equal(code, 0, err)
  const lines = out
    .replaceAll(room, 'my-room')
    .replaceAll(dir, 'DIR')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID')
    .replace(/\d\d:\d\d:\d\d/g, 'T')
    .trim()
    .split('\n')
  assert.deepEqual(lines, [
    'Created room my-room (ID) as alice, its admin.',
    'Token saved in DIR/convene/credentials.json (print it with --show-token).',
    'Joined my-room (ID) as bob (member).',
    'Token saved in DIR/convene/credentials.json (print it with --show-token).',
    'Sent to the room (#3, ID).',
    'Sent to bob (#4, ID).',
    'T alice: Hello, room!',
    'T alice → you: Psst, Bob.',
    'Sent to the room (#5, ID).',
    '#1 T room-bot: alice created the room',
    '#2 T room-bot: bob joined the room',
    '#3 T alice: Hello, room!',
    '#4 T alice → bob: Psst, Bob.',
    '#5 T bob: Hi @alice!',
  ])
  assert.match(err, /Following my-room-\w+ as alice after #0\./)
})
