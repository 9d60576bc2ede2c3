// store-independent: the build (npm start's first step) and the compiled server it makes, on a fresh embedded store.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { a2a, createRoom, type TestServer } from '../helpers.ts'
import { spawnServer } from '../spawn.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')

test('the build runs without a TypeScript loader and starts new data dirs from its migrated template', { timeout: 120_000 }, async (t) => {
  // Inside the project, so the compiled code resolves the project's node_modules; not dist/, which may be in use.
  mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true })
  const out = mkdtempSync(path.join(ROOT, 'test-artifacts', 'build-'))
  t.after(() => rmSync(out, { recursive: true, force: true }))
  execFileSync(process.execPath, ['scripts/build.mjs', out], { cwd: ROOT, stdio: 'pipe' })
  assert.ok(existsSync(path.join(out, 'db/pglite-template/PG_VERSION')), 'the template is built')
  assert.deepEqual(readdirSync(out, { recursive: true }).map(String).filter((f) => f.endsWith('.ts')), [], 'no TypeScript in the output')

  const dataDir = mkdtempSync(path.join(ROOT, 'test-artifacts', 'data-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const start = () => spawnServer({ DATA_DIR: dataDir, DATABASE_URL: '' }, { script: path.join(out, 'server.js') })
  let proc = await start()
  t.after(() => proc.stop())
  const srv = { url: proc.url } as TestServer
  const { token, roomId } = await createRoom(srv)
  assert.equal((await a2a(srv, 'message.send', { agentToken: token }, { text: 'compiled' })).data.seq, 2)
  const css = await fetch(`${proc.url}/static/app.css`)
  assert.equal(css.status, 200, 'web assets are beside the code')
  assert.doesNotMatch(proc.output(), /migrations applied/, 'the template was migrated at build time')

  await proc.stop()
  proc = await start()
  const h = await a2a({ url: proc.url } as TestServer, 'message.history', { agentToken: token }, { contextId: roomId })
  assert.equal(h.data.messages.at(-1).body, 'compiled', 'the copied data dir is a real store')
})
