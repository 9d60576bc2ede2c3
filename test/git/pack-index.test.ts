// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { tempDir } from '../helpers.ts'
import { indexPack } from '../../lib/git/index-pack.ts'
import { writeIndex } from '../../lib/git/pack-index.ts'
import { BufferSource } from '../../lib/git/pack-source.ts'
import { openRepo } from '../../lib/git/repo.ts'
import { band, pkt, PktReader } from '../../lib/git/pktline.ts'
import { commitFiles, gitHome, gitOk } from './helpers.ts'

test('our .idx is byte-identical to git index-pack for ofs-delta and ref-delta packs', async (t) => {
  const home = gitHome(t)
  const work = tempDir(t)
  const src = path.join(work, 'src')
  await gitOk(home, work, ['init', '-q', '-b', 'main', 'src'])
  for (let i = 0; i < 15; i++) await commitFiles(home, src, { 'a.txt': `${i}\n`.repeat(300 + i), [`d/${i}.txt`]: `${i}\n` }, `c${i}`)
  for (const ofs of [true, false]) {
    const out = path.join(work, ofs ? 'ofs' : 'ref')
    await gitOk(home, src, ['-c', `repack.useDeltaBaseOffset=${ofs}`, 'repack', '-adfq'])
    const packDir = path.join(src, '.git/objects/pack')
    const name = readdirSync(packDir).find((f) => f.endsWith('.pack'))!
    const pack = readFileSync(path.join(packDir, name))
    const indexed = await indexPack(new BufferSource(pack), openRepo(tempDir(t)).odb)
    writeFileSync(`${out}.idx`, writeIndex(indexed.entries, indexed.checksum))
    assert.ok(indexed.entries.length > 45)
    assert.deepEqual(readFileSync(`${out}.idx`), readFileSync(path.join(packDir, name.replace('.pack', '.idx'))))
  }
})

test('pkt-line codec: lengths, flush/delim, side-band splitting at 65,515 bytes', async () => {
  assert.equal(pkt('hello\n').toString(), '000ahello\n')
  const parts = band(1, Buffer.alloc(70000, 1))
  assert.equal(parts.length, 4)
  assert.equal(parts[0].toString('latin1', 0, 4), 'fff0')
  assert.equal(parts[0][4], 1)
  assert.equal(parts[1].length, 65515)
  const chunks = [Buffer.from('0006a'), Buffer.from('\n0000000'), Buffer.from('1rest')]
  const r = new PktReader((async function* () { yield* chunks })())
  assert.deepEqual(await r.read(), { kind: 'data', data: Buffer.from('a\n') })
  assert.deepEqual(await r.read(), { kind: 'flush' })
  assert.deepEqual(await r.read(), { kind: 'delim' })
  const rest: Buffer[] = []
  for await (const b of r.rest()) rest.push(b)
  assert.equal(Buffer.concat(rest).toString(), 'rest')
})
