// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
// The repository browser and push notices read through isomorphic-git (lib/git/browse): trees as git stores them,
// the log's order, shallow history, and an `fs` that serves objects only.
import assert from 'node:assert/strict'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { tempDir } from '../helpers.ts'
import { overview, readFile, summarizePush } from '../../lib/git/browse/index.ts'
import { GITDIR, repoFs } from '../../lib/git/browse/fs.ts'
import { openRepo } from '../../lib/git/repo.ts'
import { ZERO_OID } from '../../lib/git/objects.ts'
import { gitHome, gitOk } from './helpers.ts'

/** A bare repository written by stock git, and a way to store crafted objects in it. */
async function bare(t: TestContext) {
  const home = gitHome(t)
  const dir = path.join(tempDir(t), 'r.git')
  await gitOk(home, path.dirname(dir), ['init', '-q', '--bare', '-b', 'main', dir])
  const scratch = tempDir(t)
  let n = 0
  const put = async (type: string, content: string | Buffer, literally = true) => {
    const file = path.join(scratch, `o${n++}`)
    writeFileSync(file, content)
    return (await gitOk(home, dir, ['--git-dir', dir, 'hash-object', '-w', '-t', type, ...(literally ? ['--literally'] : []), file])).trim()
  }
  const tree = (entries: [string, string, string][]) =>
    put('tree', Buffer.concat(entries.map(([mode, name, oid]) => Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, 'hex')]))))
  const commit = (tree: string, parents: string[], time: number, message: string) =>
    put('commit', `tree ${tree}\n${parents.map((p) => `parent ${p}\n`).join('')}author A U Thor <a@example.com> ${time} +0000\ncommitter C O Mitter <c@example.com> ${time} +0000\n\n${message}\n`)
  const branch = (name: string, oid: string) => gitOk(home, dir, ['--git-dir', dir, 'update-ref', `refs/heads/${name}`, oid])
  return { dir, put, tree, commit, branch }
}

test('trees isomorphic-git refuses are listed as git stores them', async (t) => {
  const r = await bare(t)
  const blob = await r.put('blob', 'hello\n', false)
  const sub = await r.tree([['100644', 'inner.txt', blob]])
  const root = await r.tree([
    ['100644', '.git', blob],
    ['40000', 'dir', sub],
    ['100644', 'a\\b', blob],
    ['100664', 'old-mode.txt', blob],
    ['120000', 'link', blob],
  ])
  await r.branch('main', await r.commit(root, [], 1_700_000_000, 'Odd names'))
  const view = await overview(r.dir)
  assert.deepEqual(
    view?.tree.map((e) => [e.path, e.kind]),
    [['dir', 'dir'], ['dir/inner.txt', 'file'], ['.git', 'file'], ['a\\b', 'file'], ['link', 'link'], ['old-mode.txt', 'file']],
  )
  assert.deepEqual(await readFile(r.dir, 'a\\b', 1024), { kind: 'text', path: 'a\\b', size: 6, lines: ['hello'] })
  assert.deepEqual(await readFile(r.dir, 'dir/inner.txt', 1024), { kind: 'text', path: 'dir/inner.txt', size: 6, lines: ['hello'] })
  assert.equal(await readFile(r.dir, 'dir', 1024), null)
  assert.deepEqual(await readFile(r.dir, 'old-mode.txt', 3), { kind: 'too-large', path: 'old-mode.txt', size: 6 })
})

test('the log lists each commit once, newest first, ties in the order reached; the push notice counts the same walk', async (t) => {
  const r = await bare(t)
  const empty = await r.tree([])
  const base = await r.commit(empty, [], 100, 'base')
  const x = await r.commit(empty, [base], 200, 'x side')
  const y = await r.commit(empty, [base], 200, 'y side')
  const merge = await r.commit(empty, [x, y], 300, 'Merge\n\nbody')
  await r.branch('main', merge)
  await r.branch('feature', x)
  const view = await overview(r.dir)
  assert.deepEqual(view?.branches, ['feature', 'main'])
  assert.equal(view?.defaultBranch, 'main')
  assert.deepEqual(
    view?.commits.map((c) => [c.subject, c.author, c.time.getTime() / 1000]),
    [['Merge', 'A U Thor', 300], ['x side', 'A U Thor', 200], ['y side', 'A U Thor', 200], ['base', 'A U Thor', 100]],
  )
  const repo = openRepo(r.dir)
  try {
    const all = await summarizePush(repo, [{ name: 'refs/heads/main', old: ZERO_OID, new: merge }], [], 'alice')
    assert.equal(all, 'Git push to main by alice — 4 commit(s): Merge; x side; y side …')
    const onTop = await summarizePush(repo, [{ name: 'refs/heads/main', old: ZERO_OID, new: merge }], [x])
    assert.equal(onTop, 'Git push to main — 2 commit(s): Merge; y side')
    assert.equal(await summarizePush(repo, [{ name: 'refs/tags/v1', old: ZERO_OID, new: x }], []), 'Git push: tag v1')
  } finally {
    repo.release()
  }
})

test('a parent that is not there ends the log without failing the page; the push notice fails', async (t) => {
  const r = await bare(t)
  const tip = await r.commit(await r.tree([]), ['1'.repeat(40)], 100, 'shallow tip')
  await r.branch('main', tip)
  assert.deepEqual((await overview(r.dir))?.commits.map((c) => c.subject), ['shallow tip'])
  const repo = openRepo(r.dir)
  try {
    await assert.rejects(summarizePush(repo, [{ name: 'refs/heads/main', old: ZERO_OID, new: tip }], []))
  } finally {
    repo.release()
  }
})

test('the fs isomorphic-git reads through serves objects from the store only: no link, no other file, no write', async (t) => {
  const r = await bare(t)
  const blob = await r.put('blob', 'content\n', false)
  const outside = tempDir(t)
  writeFileSync(path.join(outside, 'secret'), 'not an object')
  const fake = 'e'.repeat(40)
  mkdirSync(path.join(r.dir, 'objects', fake.slice(0, 2)), { recursive: true })
  symlinkSync(path.join(outside, 'secret'), path.join(r.dir, 'objects', fake.slice(0, 2), fake.slice(2)))
  const repo = openRepo(r.dir)
  try {
    const fs = repoFs(repo.odb).promises
    const object = (oid: string) => `${GITDIR}/objects/${oid.slice(0, 2)}/${oid.slice(2)}`
    assert.ok((await fs.readFile(object(blob))).length > 0)
    await assert.rejects(fs.readFile(object(fake)), { code: 'ENOENT' })
    for (const p of [`${GITDIR}/HEAD`, `${GITDIR}/config`, `${GITDIR}/packed-refs`, `${GITDIR}/objects/../../secret`, path.join(outside, 'secret')]) {
      await assert.rejects(fs.readFile(p), { code: 'ENOENT' }, p)
    }
    await assert.rejects(fs.readdir(`${GITDIR}/objects/pack`), { code: 'ENOENT' })
    await assert.rejects(fs.writeFile(object(blob), 'x'), { code: 'EROFS' })
    await assert.rejects(fs.mkdir(`${GITDIR}/refs`), { code: 'EROFS' })
  } finally {
    repo.release()
  }
})
