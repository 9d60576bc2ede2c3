// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { tempDir } from '../helpers.ts'
import { commitFiles, fsck, gitHome, gitOk, gitRoom, gitServer } from './helpers.ts'

for (const version of ['0', '2']) {
  test(`protocol v${version}: --depth 1 clone, deepen, shallow-since, shallow-exclude, unshallow`, async (t) => {
    const s = await gitServer(t)
    const room = await gitRoom(s)
    const home = gitHome(t)
    const work = tempDir(t)
    const v = ['-c', `protocol.version=${version}`]
    const a = path.join(work, 'a')
    await gitOk(home, work, ['init', '-q', '-b', 'main', 'a'])
    const ids: string[] = []
    for (let i = 0; i < 10; i++) {
      const date = `${1_600_000_000 + i * 86_400} +0000`
      await commitFiles(home, a, { 'f.txt': `${i}\n`.repeat(100), [`n${i}.txt`]: `${i}\n` }, `c${i}`)
      await gitOk(home, a, ['commit', '-q', '--amend', '--no-edit', `--date=${date}`], { GIT_COMMITTER_DATE: date })
      ids.push((await gitOk(home, a, ['rev-parse', 'HEAD'])).trim())
    }
    await gitOk(home, a, ['tag', 'old', ids[4]])
    await gitOk(home, a, ['push', '-q', room.url, 'main', 'old'])
    const count = async (dir: string) => Number((await gitOk(home, dir, ['rev-list', '--count', 'HEAD'])).trim())

    await gitOk(home, work, [...v, 'clone', '-q', '--depth', '1', room.url, 'd1'])
    const d1 = path.join(work, 'd1')
    assert.equal(await count(d1), 1)
    await gitOk(home, d1, ['fsck', '--no-progress'])
    await gitOk(home, d1, [...v, 'fetch', '-q', '--deepen', '2'])
    assert.equal(await count(d1), 3)
    await gitOk(home, d1, [...v, 'fetch', '-q', '--depth', '4'])
    await gitOk(home, d1, ['reset', '-q', '--hard', 'origin/main'])
    assert.equal(await count(d1), 4)
    // New commits upstream, fetched into the shallow clone without deepening.
    await commitFiles(home, a, { 'f.txt': 'new\n' }, 'c10')
    await gitOk(home, a, ['push', '-q', room.url, 'main'])
    await gitOk(home, d1, [...v, 'pull', '-q', '--ff-only'])
    assert.equal(await count(d1), 5)
    await gitOk(home, d1, [...v, 'fetch', '-q', '--unshallow'])
    assert.equal(await count(d1), 11)
    await gitOk(home, d1, ['fsck', '--strict', '--no-progress'])

    await gitOk(home, work, [...v, 'clone', '-q', `--shallow-since=${1_600_000_000 + 7 * 86_400}`, room.url, 'since'])
    assert.equal(await count(path.join(work, 'since')), 4)
    await gitOk(home, work, [...v, 'clone', '-q', '--shallow-exclude=old', room.url, 'excl'])
    assert.equal(await count(path.join(work, 'excl')), 6)
    await fsck(home, room.dir)
  })
}
