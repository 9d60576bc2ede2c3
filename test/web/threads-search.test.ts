// Threads and search on the room page: replies under their root (server-rendered, collapsible, live), search as you type, its JSON endpoint.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import { a2a, createRoom, joinRoom, type TestServer } from '../helpers.ts'
import { launch, openPage, shot, type Browser } from './browser.ts'
import { BROWSER, webServer } from './server.ts'

let browser: Browser
before(async () => {
  browser = await launch()
})
after(() => browser?.close())

const send = async (s: TestServer, token: string, text: string, opts: { to?: string; replyTo?: string } = {}): Promise<string> => {
  const r = await a2a(s, 'message.send', { agentToken: token, ...opts }, { text })
  assert.equal(r.text, 'Message sent', text)
  return r.data.id as string
}
const live = (page: Page) => page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 })
/** A top-level message of the page, by id. */
const top = (page: Page, id: string) => page.locator(`#messages > li[data-id="${id}"]`)
const topBodies = (page: Page) => page.locator('#messages > li > .body').allTextContents()
const unexpected = (problems: string[]) => problems.filter((p) => !/Failed to load resource|EventSource/.test(p))

test('replies render under their root and collapse; live replies land under their root, keeping it open or closed', async (t) => {
  const s = await webServer(t)
  const { roomId, token: alice, name } = await createRoom(s)
  const bob = await joinRoom(s, roomId, 'bob')
  const root = await send(s, alice, 'Root: how do we parse configs?')
  const r1 = await send(s, bob, 'first reply: with a grammar', { replyTo: root })
  await send(s, alice, 'dm reply in the thread', { replyTo: root, to: 'bob' })
  const dm = await send(s, alice, 'a private question', { to: 'bob' })
  await send(s, bob, 'public answer to a dm', { replyTo: dm })
  await send(s, alice, 'another top-level message')

  const { page, problems } = await openPage(t, browser)
  await page.goto(`${s.url}/${name}`)
  await live(page)
  const thread = top(page, root).locator(':scope > details.replies')
  assert.equal(await thread.locator('summary').textContent(), '1 reply')
  assert.deepEqual(await thread.locator('ol.thread > li .body').allTextContents(), ['first reply: with a grammar'])
  assert.equal(await thread.locator(`li[data-id="${r1}"]`).count(), 1)
  assert.ok(!(await topBodies(page)).includes('first reply: with a grammar'), 'a reply is not top-level when its root is shown')
  // a public reply whose root is a DM: on its own, marked
  const orphan = page.locator('#messages > li', { hasText: 'public answer to a dm' })
  assert.equal(await orphan.locator('.reply-mark').textContent(), '↪ reply to an earlier message')
  assert.equal(await top(page, root).locator('.reply-mark').count(), 0)
  assert.doesNotMatch((await page.locator('#messages').textContent())!, /dm reply in the thread|a private question/)

  // collapse; a live reply arrives under the root and the block stays closed
  await thread.locator('summary').click()
  assert.equal(await thread.evaluate((d) => (d as HTMLDetailsElement).open), false)
  assert.equal(await thread.locator('ol.thread').isVisible(), false)
  const r2 = await send(s, alice, 'second reply, live', { replyTo: r1 })
  await thread.locator(`li[data-id="${r2}"]`).waitFor({ state: 'attached', timeout: 2000 })
  assert.equal(await thread.locator('summary').textContent(), '2 replies')
  assert.equal(await thread.evaluate((d) => (d as HTMLDetailsElement).open), false, 'still closed')
  assert.ok(!(await topBodies(page)).includes('second reply, live'))
  // open it again; the next live reply shows at once and it stays open
  await thread.locator('summary').click()
  await send(s, bob, 'third reply, live', { replyTo: root })
  await thread.locator('ol.thread .body', { hasText: 'third reply, live' }).waitFor({ timeout: 2000 })
  assert.equal(await thread.locator('summary').textContent(), '3 replies')
  assert.equal(await thread.evaluate((d) => (d as HTMLDetailsElement).open), true, 'still open')
  assert.deepEqual(await thread.locator('ol.thread > li .body').allTextContents(), ['first reply: with a grammar', 'second reply, live', 'third reply, live'])

  // the first reply to a message creates its block; a reply to a DM arrives on its own, marked
  const lonely = await send(s, alice, 'a lonely root, live')
  await top(page, lonely).waitFor({ timeout: 2000 })
  assert.equal(await top(page, lonely).locator('details').count(), 0)
  await send(s, bob, 'a first reply, live', { replyTo: lonely })
  const block = top(page, lonely).locator(':scope > details.replies')
  await block.locator('ol.thread .body', { hasText: 'a first reply, live' }).waitFor({ timeout: 2000 })
  assert.equal(await block.locator('summary').textContent(), '1 reply')
  assert.equal(await block.evaluate((d) => (d as HTMLDetailsElement).open), true)
  const dm2 = await send(s, bob, 'another private one', { to: 'alice' })
  await send(s, alice, 'live answer to a dm', { replyTo: dm2 })
  const liveOrphan = page.locator('#messages > li', { hasText: 'live answer to a dm' })
  await liveOrphan.waitFor({ timeout: 2000 })
  assert.equal(await liveOrphan.locator('.reply-mark').textContent(), '↪ reply to an earlier message')
  assert.doesNotMatch((await page.locator('#messages').textContent())!, /another private one|dm reply in the thread/)

  // after a reload the server renders the same threads
  await page.reload()
  await live(page)
  assert.equal(await thread.locator('summary').textContent(), '3 replies')
  assert.equal(await block.locator('summary').textContent(), '1 reply')
  await shot(page, 'room-threads')
  assert.deepEqual(unexpected(problems), [])
})

test('without JavaScript the HTML holds the threads, the orphan marker for a root older than the page, and no DM', async (t) => {
  const s = await webServer(t)
  const { roomId, token: alice, name } = await createRoom(s)
  const bob = await joinRoom(s, roomId, 'bob')
  const old = await send(s, alice, 'an old root')
  for (let i = 0; i < 100; i++) await send(s, alice, `filler ${i}`)
  await send(s, bob, 'reply to the old root', { replyTo: old })
  const root = await send(s, alice, 'a <b>fresh</b> root')
  const r1 = await send(s, bob, 'reply one <script>x</script>', { replyTo: root })
  const r2 = await send(s, alice, 'reply two', { replyTo: r1 })
  await send(s, alice, 'dm in the thread', { replyTo: root, to: 'bob' })

  const res = await fetch(`${s.url}/${name}`, { headers: BROWSER })
  assert.equal(res.status, 200)
  const body = await res.text()
  assert.doesNotMatch(body, /an old root/, 'the old root is past the page')
  assert.match(body, /<div class="meta">(?:(?!<\/li>).)*↪ reply to an earlier message<\/span><\/div><div class="body">reply to the old root<\/div>/s)
  const thread = new RegExp(
    `data-id="${root}">(?:(?!</li>).)*<div class="body">a &lt;b&gt;fresh&lt;/b&gt; root</div><details class="replies" open><summary>2 replies</summary>` +
      `<ol class="thread"><li class="msg reply" data-seq="\\d+" data-id="${r1}">(?:(?!</li>).)*reply one &lt;script&gt;x&lt;/script&gt;</div></li>` +
      `<li class="msg reply" data-seq="\\d+" data-id="${r2}">(?:(?!</li>).)*reply two</div></li></ol></details></li>`,
    's',
  )
  assert.match(body, thread)
  assert.doesNotMatch(body, /dm in the thread/)
  assert.match(body, /<div class="search" id="search" hidden>/, 'the search box waits for the script')
})

test('search as you type: a public match with its words marked, never a DM; clearing the box returns to the messages', async (t) => {
  const s = await webServer(t)
  const { roomId, token: alice, name } = await createRoom(s)
  const bob = await joinRoom(s, roomId, 'bob')
  // the snippet keeps such a tag as text (it drops <b>…</b>); it must stay text on the page
  await send(s, alice, 'the quokka migration is done <img src=x onerror=alert(1)> &lt;i&gt;')
  await send(s, alice, 'quokka secret plans only for bob', { to: 'bob' })
  await send(s, bob, 'zanzibar is only ever said in a dm', { to: 'alice' })
  await send(s, bob, 'lunch?')

  const { page, problems } = await openPage(t, browser)
  const searches: string[] = []
  page.on('request', (r) => {
    if (r.url().includes('/search?')) searches.push(new URL(r.url()).searchParams.get('q')!)
  })
  await page.goto(`${s.url}/${name}`)
  await live(page)
  const box = page.locator('#search-q')
  assert.equal(await box.isVisible(), true)
  await box.pressSequentially('quokka', { delay: 20 })
  const hit = page.locator('#results > li')
  await hit.first().waitFor({ timeout: 5000 })
  assert.equal(await hit.count(), 1)
  assert.equal(await hit.locator('mark').textContent(), 'quokka')
  assert.equal(await hit.locator('.from').textContent(), 'alice')
  assert.match((await hit.locator('time').getAttribute('datetime'))!, /^\d{4}-\d\d-\d\dT/)
  assert.match((await hit.locator('.body').textContent())!, /quokka migration is done <img src=x onerror=alert\(1\)> &lt;i&gt;/, 'markup is text')
  assert.equal(await page.locator('#results img, #results i').count(), 0)
  assert.doesNotMatch((await page.locator('#results').textContent())!, /secret/)
  assert.equal(await page.locator('#messages').isVisible(), false)
  assert.match((await page.locator('#search-status').textContent())!, /^1 of 1 matching/)
  assert.ok(searches.length < 6 && searches.at(-1) === 'quokka', `typing is debounced: ${JSON.stringify(searches)}`)
  await shot(page, 'room-search')

  // a word only a DM holds finds nothing
  await box.fill('zanzibar')
  await page.locator('#search-status', { hasText: 'No public messages match.' }).waitFor({ timeout: 5000 })
  assert.equal(await hit.count(), 0)

  await box.fill('')
  await page.locator('#messages').waitFor({ state: 'visible', timeout: 2000 })
  assert.equal(await page.locator('#results').isVisible(), false)
  assert.equal(await page.locator('#search-status').textContent(), '')
  assert.ok((await topBodies(page)).includes('lunch?'))
  assert.deepEqual(unexpected(problems), [])
})

test('the search endpoint: public messages only, clear 400s, the room password, and the /api rate limit', async (t) => {
  const s = await webServer(t)
  const { roomId, token: alice, name } = await createRoom(s)
  await joinRoom(s, roomId, 'bob')
  const pub = await send(s, alice, 'The parser handles nested arrays now')
  await send(s, alice, 'the parser password is hunter2', { to: 'bob' })
  await send(s, alice, 'xylophone practice, between us', { to: 'bob' })
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${s.url}${path}`, { headers })
    return { status: res.status, body: (await res.json()) as any, res }
  }
  const search = (q: string, room = name) => get(`/api/rooms/${encodeURIComponent(room)}/search?q=${encodeURIComponent(q)}`)

  const found = await search('parser')
  assert.equal(found.status, 200)
  assert.equal(found.res.headers.get('cache-control'), 'no-store')
  assert.equal(found.body.total, 1)
  assert.deepEqual(Object.keys(found.body.results[0]).sort(), ['from', 'id', 'seq', 'snippet', 'threadId', 'timestamp'])
  assert.equal(found.body.results[0].id, pub)
  assert.equal(found.body.results[0].from, 'alice')
  assert.match(found.body.results[0].snippet, /«parser»/)
  for (const q of ['xylophone', 'hunter2', 'parser password', '"between us"', 'xylophone or hunter2']) {
    const r = await search(q)
    assert.equal(r.status, 200, q)
    assert.deepEqual(r.body, { results: [], total: 0 }, q)
  }
  assert.equal((await search('parser', roomId)).body.total, 1, 'by UUID')

  // bad input: 400 naming q, never a 5xx
  const bad = async (path: string, re: RegExp) => {
    const r = await get(path)
    assert.equal(r.status, 400, path)
    assert.match(r.body.message, re, path)
  }
  await bad(`/api/rooms/${name}/search`, /^q is required$/)
  await bad(`/api/rooms/${name}/search?q=`, /^q is required$/)
  await bad(`/api/rooms/${name}/search?q=%20%20`, /^q is required$/)
  await bad(`/api/rooms/${name}/search?q=${'x'.repeat(501)}`, /^q must be at most 500 characters/)
  await bad(`/api/rooms/${name}/search?q=x&limit=0`, /limit/)
  await bad(`/api/rooms/${name}/search?q=x&limit=many`, /limit/)
  for (const q of ['(', '"', "'; drop table messages; --", '- - - x', '東京', '\\']) assert.equal((await search(q)).status, 200, q)
  assert.equal((await get('/api/rooms/no-such-room-here/search?q=x')).status, 404)

  // a protected room: refused without its password, 403 with a wrong one; the password in the query, header or name
  const locked = await createRoom(s, { password: 'pa:ss' })
  await send(s, locked.token, 'protected parser notes')
  const none = await search('parser', locked.name)
  assert.equal(none.status, 401)
  assert.deepEqual(none.body, { error: 'INVALID_PASSWORD', message: 'This room is password-protected' })
  assert.equal((await get(`/api/rooms/${locked.name}/search?q=parser&password=wrong`)).status, 403)
  assert.equal((await get(`/api/rooms/${locked.name}/search?q=parser&password=${encodeURIComponent('pa:ss')}`)).body.total, 1)
  assert.equal((await get(`/api/rooms/${locked.name}/search?q=parser`, { 'x-room-password': 'pa:ss' })).body.total, 1)
  assert.equal((await search('parser', `${locked.name}:pa:ss`)).body.total, 1)
  assert.equal((await search('parser', locked.roomId)).body.total, 1, 'the UUID is a bearer secret')

  // the page links the endpoint with the password the visitor gave
  const page = await fetch(`${s.url}/${locked.name}:${encodeURIComponent('pa:ss')}`, { headers: BROWSER })
  assert.match(await page.text(), /data-url="\/api\/rooms\/[^"?]+\/search\?password=pa%3Ass"/)

  // the /api rate limit applies
  const limited = await webServer(t, { overrides: { rateLimitMax: 2 } })
  const room = await createRoom(limited)
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await fetch(`${limited.url}/api/rooms/${room.name}/search?q=x`)).status)
  assert.ok(statuses.includes(429), `rate limited: ${statuses}`)
})

test('messages that ask for an ack carry a badge, server-rendered and live; the agents\' text page says so too', async (t) => {
  const s = await webServer(t)
  const { roomId, token: alice, name } = await createRoom(s)
  const bob = await joinRoom(s, roomId, 'bob')
  const ask = async (text: string, more: Record<string, unknown> = {}) =>
    (await a2a(s, 'message.send', { agentToken: alice, ackRequired: true, ...more }, { text })).data.id as string
  const early = await ask('confirm the schema, please')
  await send(s, alice, 'no ack needed')
  await ask('private: confirm the budget', { to: 'bob' })

  const { page } = await openPage(t, browser)
  await page.goto(`${s.url}/${name}`)
  await live(page)
  assert.equal(await top(page, early).locator('.badge.ack').textContent(), 'ack requested')
  assert.equal(await page.locator('#messages .badge.ack').count(), 1, 'the plain message has none and the DM is not shown')
  const later = await ask('and confirm the deadline')
  await top(page, later).locator('.badge.ack').waitFor({ timeout: 10_000 })
  assert.equal(await page.locator('#messages .badge.ack').count(), 2)
  await a2a(s, 'message.ack', { agentToken: bob, messageIds: [early] })
  assert.doesNotMatch((await page.locator('#messages').textContent())!, /acknowledged|budget/)

  const text = (await s.app.inject({ url: `/${name}`, headers: { accept: 'text/markdown' } })).body
  assert.match(text, /alice \(asks for message\.ack\): confirm the schema, please/)
  assert.match(text, /alice: no ack needed/)
  assert.doesNotMatch(text, /budget|acknowledged/)
})
