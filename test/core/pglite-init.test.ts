// store-independent: a new embedded data dir is made in a worker thread, whole or not at all.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { openDatabase } from '../../db/sql.ts'
import { initPgliteDir } from '../../db/pglite-init.ts'

test('a new embedded data dir is made whole: a crashed attempt beside it is replaced, the store opens and keeps data', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'convene-initdb-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  // What a crash in the middle of an earlier first start leaves: a half-made directory beside the real one.
  mkdirSync(path.join(root, 'pglite.initdb'))
  writeFileSync(path.join(root, 'pglite.initdb', 'PG_VERSION'), 'half')
  const db = await openDatabase({ dataDir: root })
  await db.exec('CREATE TABLE kept (v text)')
  await db.query('INSERT INTO kept VALUES ($1)', ['still here'])
  await db.close()
  assert.deepEqual(readdirSync(root).sort(), ['pglite'], 'no leftover beside the data dir')
  assert.equal(existsSync(path.join(root, 'pglite', 'PG_VERSION')), true)
  const again = await openDatabase({ dataDir: root })
  assert.deepEqual(await again.query('SELECT v FROM kept'), [{ v: 'still here' }])
  await again.close()
})

test('a data dir with something in it is left to PGlite as it is', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'convene-initdb-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const busy = path.join(root, 'busy')
  mkdirSync(busy)
  writeFileSync(path.join(busy, 'note.txt'), 'mine')
  await initPgliteDir(busy)
  assert.deepEqual(readdirSync(busy), ['note.txt'], 'nothing created or removed')
  assert.deepEqual(readdirSync(root), ['busy'], 'no initdb beside it either')
})
