// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../../lib/config.ts'

test('defaults follow SPEC.md', () => {
  const c = loadConfig({})
  assert.equal(c.port, 3000)
  assert.equal(c.host, '127.0.0.1')
  assert.equal(c.dataDir, './data')
  assert.equal(c.reposDir, 'data/repos')
  assert.deepEqual(c.protocols, ['a2a', 'mcp', 'sse', 'git', 'web'])
  assert.equal(c.roomTtlDays, 7)
  assert.equal(c.allowPrivateEndpoints, false)
  assert.equal(c.databaseUrl, undefined)
})

test('environment values are parsed', () => {
  const c = loadConfig({ PORT: '8080', PROTOCOLS: 'a2a, git', ALLOW_PRIVATE_ENDPOINTS: '1', ROOM_TTL_DAYS: '0.5', REPOS_DIR: '/srv/repos' })
  assert.equal(c.port, 8080)
  assert.deepEqual(c.protocols, ['a2a', 'git'])
  assert.equal(c.allowPrivateEndpoints, true)
  assert.equal(c.roomTtlDays, 0.5)
  assert.equal(c.reposDir, '/srv/repos')
})

for (const [env, value] of [
  ['PORT', 'abc'],
  ['PORT', '70000'],
  ['PROTOCOLS', 'a2a,ftp'],
  ['ROOM_TTL_DAYS', '-1'],
  ['DATABASE_URL', 'mysql://x'],
  ['LOG_LEVEL', 'loud'],
  ['ALLOW_PRIVATE_ENDPOINTS', 'maybe'],
  ['BASE_URL', 'example.com'],
] as const) {
  test(`bad ${env}=${value} is refused naming the variable`, () => {
    assert.throws(() => loadConfig({ [env]: value }), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`Invalid ${env}:`))
  })
}

test('the server stops at start-up with one line naming a bad variable', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'server.ts'], {
    env: { ...process.env, PORT: 'nope', DATABASE_URL: '' },
    encoding: 'utf8',
    timeout: 30_000,
  })
  assert.equal(r.status, 1)
  const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('nodedir'))
  assert.equal(lines.length, 1)
  assert.match(lines[0], /^convene: Invalid PORT: "nope"/)
})
