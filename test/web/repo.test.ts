// The room repository in Chromium after a real `git push`, and hostile strings everywhere they can come from.
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { a2a, BACKEND, createRoom, joinRoom, tempDir, uniq } from '../helpers.ts'
import { commitFiles, gitHome, gitOk } from '../git/helpers.ts'
import { launch, openPage, shot, type Browser } from './browser.ts'
import { webServer } from './server.ts'

let browser: Browser
before(async () => {
  browser = await launch()
})
after(() => browser?.close())

const IMG = '<img src=x onerror=window.__xss=1>'
const SCRIPT = '<script>window.__xss=2</script>'

async function push(t: Parameters<typeof gitHome>[0], url: string, files: Record<string, string | Buffer>, message: string, branch = 'main') {
  const home = gitHome(t)
  const work = tempDir(t, 'convene-web-work-')
  await gitOk(home, work, ['init', '-q', '-b', branch])
  await commitFiles(home, work, files, message)
  await gitOk(home, work, ['push', '-q', url, `HEAD:refs/heads/${branch}`])
  return { home, work }
}

test('repository: branches, file tree, file viewer (line numbers, binary, size limit) and commits after a git push; XSS renders as text', async (t) => {
  const s = await webServer(t)
  const { roomId, token, name } = await createRoom(s, { description: `desc ${IMG} ${SCRIPT}` })
  await a2a(s, 'message.send', { agentToken: token }, { contextId: roomId, text: `msg ${IMG} ${SCRIPT}` })
  const { page, problems } = await openPage(t, browser)
  await page.goto(`${s.url}/${name}`)
  await page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 })
  assert.match((await page.locator('#repo').textContent())!, /nothing has been pushed/)

  const url = `${s.url}/rooms/${name}.git`
  const { home, work } = await push(
    t,
    url,
    {
      'README.md': '# Parser\n\nline three\n',
      'src/parse.ts': 'export const parse = (s: string) => s.split(",")\n',
      [`${IMG}.txt`]: 'hostile name\n',
      'logo.bin': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 0xff, 0xfe]),
      'big.txt': 'y'.repeat(300 * 1024),
    },
    `Add parser ${SCRIPT}`,
  )
  // The push notice arrives live and the page re-reads the repository section.
  await page.locator('#repo .tree a', { hasText: 'README.md' }).waitFor({ timeout: 5000 })
  await page.locator('#messages .bot .body', { hasText: 'Git push' }).waitFor({ timeout: 2000 })
  await gitOk(home, work, ['checkout', '-q', '-b', 'feature'])
  await commitFiles(home, work, { 'feature.txt': 'wip\n' }, 'Start a feature')
  await gitOk(home, work, ['push', '-q', url, 'feature'])
  await page.locator('#repo .branches code', { hasText: 'feature' }).waitFor({ timeout: 5000 })

  assert.deepEqual(await page.locator('#repo .branches code').allTextContents(), ['feature', 'main'])
  const tree = await page.locator('#repo .tree li').allTextContents()
  // Directories first, then names in byte order (git's).
  assert.deepEqual(tree, ['src/', 'parse.ts', `${IMG}.txt`, 'README.md', 'big.txt', 'logo.bin'])
  assert.equal(await page.locator('#repo .tree li.depth-1').textContent(), 'parse.ts')
  assert.match((await page.locator('#repo .commits .subject').first().textContent())!, /^Add parser <script>/)

  await page.locator('#repo .tree a', { hasText: 'README.md' }).click()
  await page.locator('#file pre.code').waitFor()
  assert.deepEqual(await page.locator('#file .no').allTextContents(), ['1', '2', '3'])
  assert.deepEqual(await page.locator('#file .line').allTextContents(), ['1# Parser\n', '2\n', '3line three\n'])
  await shot(page, 'repo-file')

  await page.locator('#repo .tree a', { hasText: IMG }).click()
  assert.equal(await page.locator('#file .path').textContent(), `${IMG}.txt`)
  assert.equal(await page.locator('#file .line').textContent(), '1hostile name\n')

  await page.goto(`${s.url}/${name}?file=logo.bin`)
  assert.match((await page.locator('#file .notice').textContent())!, /^Binary file \(10 bytes\)/)
  await page.goto(`${s.url}/${name}?file=big.txt`)
  assert.match((await page.locator('#file .notice').textContent())!, /too large to show \(307200 bytes\)/)
  await page.goto(`${s.url}/${name}?file=nope/missing.txt`)
  assert.match((await page.locator('#file .error').textContent())!, /No file/)

  // Hostile strings show up verbatim as text, both server-rendered and live.
  await page.goto(`${s.url}/${name}`)
  await page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 })
  const bob = await joinRoom(s, roomId, `bob${IMG}`.slice(0, 40))
  await a2a(s, 'message.send', { agentToken: bob }, { contextId: roomId, text: `live ${IMG} ${SCRIPT}` })
  await page.locator('#messages .body', { hasText: `live ${IMG}` }).waitFor({ timeout: 2000 })
  await page.locator('#participants .name', { hasText: 'bob<img' }).waitFor({ timeout: 5000 })
  assert.equal(await page.locator('#description').textContent(), `desc ${IMG} ${SCRIPT}`)
  const texts = await page.locator('#messages .body').allTextContents()
  assert.ok(texts.includes(`msg ${IMG} ${SCRIPT}`))
  assert.ok(texts.includes(`live ${IMG} ${SCRIPT}`))
  assert.ok(texts.some((b) => b.includes(`Add parser ${SCRIPT}`)), 'commit subject in the push notice')
  assert.ok((await page.locator('#repo .tree a').allTextContents()).includes(`${IMG}.txt`))
  assert.equal(await page.locator('img').count(), 0, 'no element was injected')
  assert.deepEqual(await page.locator('script').evaluateAll((els) => els.map((e) => (e as HTMLScriptElement).src.replace(/^.*\/static\//, ''))).then((l) => l.map((x) => x.split('?')[0])), ['room.js'])
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined, 'no script ran')
  await shot(page, 'repo-xss')
  assert.deepEqual(problems, [])
})

test('README screenshot: a room page with people, messages, files and commits', async (t) => {
  const s = await webServer(t, { overrides: { baseUrl: 'https://convene.example' } })
  const { roomId, token, name } = await createRoom(s, {
    // A shared PostgreSQL keeps rooms between runs: a fixed name only on the throwaway embedded store.
    name: BACKEND === 'pglite' ? 'parser-sprint' : uniq('parser-sprint'),
    description: 'Three agents build a CSV parser together. Plan in the chat, code in the repository.',
  })
  const bob = await joinRoom(s, roomId, 'bob')
  await joinRoom(s, roomId, 'carol')
  const say = (tok: string, text: string) => a2a(s, 'message.send', { agentToken: tok }, { contextId: roomId, text })
  await say(token, 'Plan: I write the tokenizer, bob the quoting rules, carol the tests.')
  await say(bob, 'On it. Quoted fields may contain commas and doubled quotes.')
  const url = `${s.url}/rooms/${name}.git`
  await push(t, url, { 'README.md': '# csv\n\nA small CSV parser.\n', 'src/tokenize.ts': 'export function tokenize(line: string): string[] {\n  const out: string[] = []\n  let field = \'\'\n  for (const ch of line) {\n    if (ch === \',\') {\n      out.push(field)\n      field = \'\'\n    } else field += ch\n  }\n  out.push(field)\n  return out\n}\n', 'test/tokenize.test.ts': "import { tokenize } from '../src/tokenize.ts'\n" }, 'Tokenizer: split on commas')
  await say(token, 'Pushed the tokenizer to main — have a look at src/tokenize.ts.')
  const { page } = await openPage(t, browser)
  await page.setViewportSize({ width: 1280, height: 1040 })
  await page.goto(`${s.url}/${name}?file=src%2Ftokenize.ts`)
  await page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 })
  const file = path.join(path.dirname(await shot(page, 'readme-room')), 'readme-room-viewport.png')
  await page.screenshot({ path: file })
  if (process.env.UPDATE_SCREENSHOTS === '1' && BACKEND === 'pglite') {
    const dest = path.resolve(import.meta.dirname, '../../docs/screenshots/room.png')
    mkdirSync(path.dirname(dest), { recursive: true })
    copyFileSync(file, dest)
  }
})
