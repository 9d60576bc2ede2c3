// The room page in Chromium: server-rendered messages, live updates, restart resume, DM privacy, password form, phone width.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import { a2a, createRoom, joinRoom, uniq, type TestServer } from '../helpers.ts'
import { launch, openPage, scrollsSideways, shot, type Browser } from './browser.ts'
import { listen, webServer } from './server.ts'

let browser: Browser
before(async () => {
  browser = await launch()
})
after(() => browser?.close())

const send = (s: TestServer, token: string, roomId: string, text: string, to?: string) =>
  a2a(s, 'message.send', { agentToken: token, ...(to ? { to } : {}) }, { contextId: roomId, text })

const bodies = (page: Page) => page.locator('#messages .msg .body').allTextContents()
const seqs = async (page: Page) => (await page.locator('#messages .msg').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.seq))))
const live = (page: Page) => page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 })
/** Problems other than the HTTP statuses a test provokes on purpose. */
const unexpected = (problems: string[]) => problems.filter((p) => !/Failed to load resource|ERR_CONNECTION_REFUSED|EventSource/.test(p))

test('room page shows messages; one sent through A2A appears within 1 s; DMs never appear', async (t) => {
  const s = await webServer(t)
  const { roomId, token, name } = await createRoom(s, { description: 'Planning the parser' })
  const bob = await joinRoom(s, roomId, 'bob')
  await send(s, token, roomId, 'before the page opened')
  await send(s, token, roomId, 'dm before the page opened', 'bob')
  const { page, problems } = await openPage(t, browser)
  await page.goto(`${s.url}/${name}`)
  assert.equal(await page.locator('h1').textContent(), name)
  assert.equal(await page.locator('#description').textContent(), 'Planning the parser')
  assert.deepEqual(await page.locator('#participants .name').allTextContents(), ['alice', 'bob'])
  assert.equal(await page.locator('#participants li[data-agent="alice"] .badge').textContent(), 'admin')
  assert.equal(await page.locator('#participants li[data-agent="bob"]').getAttribute('class'), 'online')
  assert.ok((await bodies(page)).includes('before the page opened'))
  assert.ok((await page.locator('#messages time').count()) >= 3, 'timestamps')
  await live(page)

  const started = Date.now()
  await send(s, bob, roomId, 'hello from A2A')
  await page.locator('#messages .body', { hasText: 'hello from A2A' }).waitFor({ timeout: 2000 })
  const elapsed = Date.now() - started
  assert.ok(elapsed < 1000, `appeared after ${elapsed} ms`)
  assert.equal((await bodies(page)).at(-1), 'hello from A2A', 'newest at the bottom')

  await send(s, bob, roomId, 'secret dm while watching', 'alice')
  await send(s, token, roomId, 'public after the dm')
  await page.locator('#messages .body', { hasText: 'public after the dm' }).waitFor({ timeout: 2000 })
  const all = await page.locator('#messages').textContent()
  assert.doesNotMatch(all!, /dm before the page opened|secret dm while watching/)
  await page.reload()
  await live(page)
  assert.doesNotMatch((await page.locator('#messages').textContent())!, /dm before|secret dm/)
  const order = await seqs(page)
  assert.deepEqual(order, [...order].sort((a, b) => a - b))
  await shot(page, 'room-live')
  assert.deepEqual(unexpected(problems), [])
})

test('after a server restart the page reconnects and shows what was sent meanwhile exactly once', async (t) => {
  const s = await webServer(t)
  const { roomId, token, name } = await createRoom(s)
  const { page, problems } = await openPage(t, browser)
  await page.goto(`${s.url}/${name}`)
  await live(page)
  await send(s, token, roomId, 'before restart')
  await page.locator('#messages .body', { hasText: 'before restart' }).waitFor({ timeout: 2000 })

  const port = Number(new URL(s.url).port)
  await s.app.close()
  await page.locator('#live[data-state="reconnecting"]').waitFor({ timeout: 5000 })
  // Same data, same port; messages written before it listens again.
  const s2 = await webServer(t, { config: s.config, listen: false })
  const meanwhile = ['while down 1', 'while down 2', 'while down 3']
  for (const text of meanwhile) await send(s2, token, roomId, text)
  s2.url = await listen(s2.app, port)
  await page.locator('#messages .body', { hasText: 'while down 3' }).waitFor({ timeout: 15_000 })
  await live(page)
  await send(s2, token, roomId, 'after restart')
  await page.locator('#messages .body', { hasText: 'after restart' }).waitFor({ timeout: 2000 })

  const texts = await bodies(page)
  for (const m of ['before restart', ...meanwhile, 'after restart']) assert.equal(texts.filter((b) => b === m).length, 1, m)
  const order = await seqs(page)
  assert.equal(new Set(order).size, order.length, 'no duplicates')
  for (let i = 1; i < order.length; i++) assert.equal(order[i], order[i - 1] + 1, `no gap after seq ${order[i - 1]}`)
  await shot(page, 'room-after-restart')
  assert.deepEqual(unexpected(problems), [])
})

test('password form: asks, a wrong password says so, the right one opens the live room', async (t) => {
  const s = await webServer(t)
  const password = 'open sesame'
  const { roomId, token, name } = await createRoom(s, { password })
  await send(s, token, roomId, 'inside the protected room')
  const { page, problems } = await openPage(t, browser)
  await page.goto(`${s.url}/${name}`)
  assert.equal(await page.locator('#messages').count(), 0)
  await page.fill('#password', 'wrong one')
  await page.click('form.password button')
  await page.locator('#wrong-password').waitFor()
  assert.match((await page.locator('#wrong-password').textContent())!, /Wrong password/)
  assert.equal(await page.locator('#messages').count(), 0)
  await shot(page, 'room-wrong-password')
  await page.fill('#password', password)
  await page.click('form.password button')
  await page.waitForURL(`${s.url}/${name}:${encodeURIComponent(password)}`)
  assert.ok((await bodies(page)).includes('inside the protected room'))
  await live(page)
  await send(s, token, roomId, 'live in the protected room')
  await page.locator('#messages .body', { hasText: 'live in the protected room' }).waitFor({ timeout: 2000 })
  // The UUID is a bearer secret: it opens the page and its stream without the password.
  await page.goto(`${s.url}/${roomId}`)
  await live(page)
  await send(s, token, roomId, 'live by uuid')
  await page.locator('#messages .body', { hasText: 'live by uuid' }).waitFor({ timeout: 2000 })
  assert.deepEqual(unexpected(problems), [])
})

test('landing, docs and a busy room page render, and a 390-px-wide viewport has no horizontal scroll', async (t) => {
  const s = await webServer(t)
  const { roomId, token, name } = await createRoom(s, { description: `A long description ${'without-any-spaces-'.repeat(20)}` })
  await send(s, token, roomId, `a very long word ${'x'.repeat(400)}`)
  await send(s, token, roomId, 'https://example.com/' + 'path/'.repeat(60))
  const { page, problems } = await openPage(t, browser)
  await page.setViewportSize({ width: 390, height: 844 })
  for (const [label, path, heading] of [
    ['landing', '/', 'Rooms where AI agents meet'],
    ['docs', '/docs', 'Convene documentation'],
    ['docs-mcp', '/docs/mcp', 'MCP'],
    ['docs-a2a', '/docs/a2a', 'A2A'],
    ['docs-git', '/docs/git', 'Git'],
    ['docs-sse', '/docs/sse', 'SSE'],
    ['not-found', `/${uniq('missing')}`, null],
    ['room', `/${name}`, name],
  ] as const) {
    await page.goto(`${s.url}${path}`)
    if (heading) assert.equal(await page.locator('h1').first().textContent(), heading, path)
    // The stylesheet loaded (CSP allows our own files): the header is a flex row.
    assert.equal(await page.locator('header.top').evaluate((e) => getComputedStyle(e).display), 'flex', path)
    assert.equal(await scrollsSideways(page), false, `${path} scrolls sideways at 390 px`)
    await shot(page, `phone-${label}`)
  }
  await live(page)
  assert.deepEqual(unexpected(problems), [])
})
