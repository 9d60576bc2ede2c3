// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRoom, tempDir, type TestServer } from '../helpers.ts'
import { repoPath } from '../../lib/git/repo.ts'
import { commitFiles, fsck, gitHome, gitOk } from './helpers.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })
}

test('the server never spawns a process: no child_process in server code', () => {
  const files = [...['lib', 'routes', 'plugins', 'db'].flatMap((d) => sources(path.join(root, d))), path.join(root, 'app.ts'), path.join(root, 'server.ts')]
  assert.ok(files.some((f) => f.includes(`${path.sep}git${path.sep}`)))
  for (const f of files) {
    let text = ''
    try {
      text = readFileSync(f, 'utf8')
    } catch {
      continue
    }
    assert.doesNotMatch(text, /child_process|execa|\bspawn\(|\bexecFile\(/, `${path.relative(root, f)} spawns processes`)
  }
})

test('the server works with no git binary on its PATH', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/git/fixtures/serve.ts')], {
    cwd: root,
    env: { PATH: '/nonexistent', HOME: tempDir(t) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.after(() => child.kill('SIGTERM'))
  const [line] = (await once(child.stdout, 'data')) as [Buffer]
  const { url, reposDir } = JSON.parse(line.toString()) as { url: string; reposDir: string }
  const room = await createRoom({ url } as TestServer)
  const home = gitHome(t)
  const work = tempDir(t)
  await gitOk(home, work, ['clone', '-q', `${url}/rooms/${room.name}.git`, 'a'])
  const a = path.join(work, 'a')
  await commitFiles(home, a, { 'x.txt': 'x\n' }, 'no git on the server')
  await gitOk(home, a, ['push', '-q', 'origin', 'main'])
  await gitOk(home, work, ['clone', '-q', `${url}/rooms/${room.name}.git`, 'b'])
  await fsck(home, repoPath(reposDir, room.roomId))
})
