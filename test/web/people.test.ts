// People on the room page: join, post, DM, reply and leave in Chromium (with and without JavaScript); kind "human"
// on MCP, SSE, A2A unread and push; the person cookie's attributes and every CSRF refusal over plain HTTP.
import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import { a2a, createRoom, joinRoom, uniq, type TestServer } from '../helpers.ts'
import { connect } from '../mcp/helpers.ts'
import { Receiver } from '../realtime/receiver.ts'
import { SseClient } from '../realtime/sse-client.ts'
import { launch, openPage, scrollsSideways, shot, type Browser } from './browser.ts'
import { BROWSER, webServer } from './server.ts'

let browser: Browser
before(async () => {
  browser = await launch()
})
after(() => browser?.close())

const live = (page: Page) => page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 })
const unexpected = (problems: string[]) => problems.filter((p) => !/Failed to load resource|EventSource/.test(p))
/**
 * With no script to use it, a socket Chromium preconnects never sends a request, and Node's close waits for its
 * headers timeout (a minute). The returned function destroys such sockets: call it once the page has left the server.
 */
function unusedSockets(s: TestServer): () => void {
  const sockets = new Set<Socket>()
  s.app.server.on('connection', (socket: Socket) => sockets.add(socket))
  return () => {
    for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy()
  }
}

/** A name that would be markup if it were not escaped. */
const TRICKY = 'Ana <em>&amp;</em> "Q"'

test('a person joins from the page and posts; agents get it over MCP and SSE as kind "human"; replies and DMs go both ways, live', async (t) => {
  const s = await webServer(t)
  const name = uniq()
  const alice = await connect(t, s.url)
  const { json: created } = await alice.call('createRoom', { agentName: 'alice', name })
  const roomId = created.roomId as string
  const bob = await joinRoom(s, roomId, 'bob')
  const bobSse = await SseClient.open(`${s.url}/api/messages/${roomId}/sse?agentToken=${bob}`)
  t.after(() => bobSse.close())

  const { page, problems } = await openPage(t, browser)
  await page.goto(`${s.url}/${name}`)
  await live(page)
  await page.fill('#join-name', TRICKY)
  await page.click('#join-form button')
  await page.locator('#compose').waitFor()
  assert.equal(new URL(page.url()).pathname, `/${name}`)
  assert.equal(await page.locator('#you-name').textContent(), TRICKY)
  const me = page.locator('#participants li', { hasText: TRICKY })
  assert.equal(await me.locator('.name').textContent(), TRICKY)
  assert.equal(await me.locator('.badge.human').textContent(), 'person')
  assert.equal(await page.locator('#participants em, #person em').count(), 0, 'the name is text, never markup')
  await live(page)

  // The person posts (Enter sends); both agents hear it as a human's message.
  await page.fill('#compose-text', 'Hello agents, a person here')
  await page.press('#compose-text', 'Enter')
  const note = await alice.nextNote((n) => n.data.body === 'Hello agents, a person here')
  assert.equal(note.data.from, TRICKY)
  assert.equal(note.data.kind, 'human')
  await bobSse.until(() => bobSse.messages.some((m) => m.body === 'Hello agents, a person here'), 5000, 'the person’s message')
  const overSse = bobSse.messages.find((m) => m.body === 'Hello agents, a person here')
  assert.equal(overSse.kind, 'human')
  assert.equal(overSse.from, TRICKY)
  const mine = page.locator('#messages > li', { hasText: 'Hello agents, a person here' })
  await mine.waitFor({ timeout: 2000 })
  assert.equal(await mine.locator('.badge.human').textContent(), 'person')
  // the form is cleared once the post is answered (which may come after the stream brought the message)
  await page.waitForFunction(() => (document.getElementById('compose-text') as HTMLTextAreaElement).value === '')

  // The agent's reply shows live under the person's message, as an agent's (no kind).
  await alice.call('sendMessage', { text: 'Welcome! What do you need?', replyTo: overSse.id })
  const reply = mine.locator('details.replies li', { hasText: 'Welcome! What do you need?' })
  await reply.waitFor({ timeout: 2000 })
  assert.equal(await reply.locator('.badge.human').count(), 0)
  await bobSse.until(() => bobSse.messages.some((m) => m.body === 'Welcome! What do you need?'), 5000, 'alice’s reply')
  assert.equal('kind' in bobSse.messages.find((m) => m.body === 'Welcome! What do you need?'), false, 'agents’ messages carry no kind')

  // A DM to the person lands in their own list, never in the room's.
  await alice.call('sendMessage', { text: 'psst, only for you', to: TRICKY })
  const dm = page.locator('#dm-list li', { hasText: 'psst, only for you' })
  await dm.waitFor({ timeout: 2000 })
  assert.equal(await dm.locator('.to').textContent(), TRICKY)
  assert.equal(await page.locator('#messages li', { hasText: 'psst' }).count(), 0)

  // Replying to the DM answers alice privately, in its thread.
  await dm.locator('a.reply-link').click()
  assert.equal(await page.locator('#replying').isVisible(), true)
  assert.equal(await page.locator('#replying .from').textContent(), 'alice')
  assert.equal(await page.locator('#compose-to').inputValue(), 'alice')
  await page.fill('#compose-text', 'a private answer')
  await page.click('#compose button[type="submit"]')
  const answer = await alice.nextNote((n) => n.data.body === 'a private answer')
  assert.equal(answer.data.to, 'alice')
  assert.equal(answer.data.kind, 'human')
  const dmId = (await dm.getAttribute('data-id'))!
  assert.equal(answer.data.replyTo, dmId)
  await page.locator('#dm-list li', { hasText: 'a private answer' }).waitFor({ timeout: 2000 })
  await page.locator('#replying').waitFor({ state: 'hidden' }) // the reply is done once the post is answered
  assert.equal(await page.locator('#compose-to').inputValue(), 'alice', 'the DM choice stays for the next message')

  // A public message after it: bob sees it, never the DMs.
  await page.selectOption('#compose-to', '')
  await page.fill('#compose-text', 'back to everyone')
  await page.press('#compose-text', 'Enter')
  await bobSse.until(() => bobSse.messages.some((m) => m.body === 'back to everyone'), 5000, 'the public message')
  assert.ok(!bobSse.messages.some((m) => /psst|private answer/.test(m.body)), 'bob never gets their DMs')
  await shot(page, 'room-person')
  assert.equal(await page.locator('#messages li.bot a.reply-link').count(), 0, 'room-bot notices get no reply link')
  await page.setViewportSize({ width: 390, height: 844 })
  assert.equal(await scrollsSideways(page), false, 'the forms fit a phone')
  await page.setViewportSize({ width: 1280, height: 900 })

  // An invalid reply is refused on the page, with nothing sent.
  await page.evaluate(() => {
    ;(document.getElementById('compose-reply') as HTMLInputElement).value = '00000000-0000-4000-8000-000000000000'
  })
  await page.fill('#compose-text', 'to nowhere')
  await page.press('#compose-text', 'Enter')
  await page.locator('#compose-status.error').waitFor()
  assert.match((await page.locator('#compose-status').textContent())!, /replyTo: no message/)
  assert.equal(await page.locator('#compose-text').inputValue(), 'to nowhere', 'kept, to try again')

  // Leaving: the cookie goes, the join form is back, the room says so.
  const personCookies = async () => (await browser.context.cookies(`${s.url}/${name}`)).filter((c) => c.name === 'convene_person')
  assert.deepEqual((await personCookies()).map((c) => [c.path, c.httpOnly, c.sameSite]), [[`/${name}`, true, 'Strict']])
  await page.click('#leave-form button')
  await page.locator('#join-form').waitFor()
  assert.deepEqual(await personCookies(), [])
  await bobSse.until(() => bobSse.messages.some((m) => m.body === `${TRICKY} left the room`), 5000, 'the leave notice')
  assert.equal(await page.locator('#participants li', { hasText: TRICKY }).count(), 0)
  assert.deepEqual(unexpected(problems), [])
})

test('without JavaScript the page reads, and a person joins, posts, replies and leaves with plain forms', async (t) => {
  const s = await webServer(t)
  const unused = unusedSockets(s)
  const password = 'p@ss word'
  const { roomId, token: alice, name } = await createRoom(s, { password })
  const root = await a2a(s, 'message.send', { agentToken: alice }, { contextId: roomId, text: 'Server-rendered root' })
  const { page, problems } = await openPage(t, browser)
  const cdp = await browser.context.newCDPSession(page)
  await cdp.send('Emulation.setScriptExecutionDisabled', { value: true })
  await page.goto(`${s.url}/${name}:${encodeURIComponent(password)}`)
  assert.ok((await page.locator('#messages .body').allTextContents()).includes('Server-rendered root'))
  assert.equal(await page.locator('#live').textContent(), 'connecting…', 'no script ran')

  await page.fill('#join-name', 'Bea')
  await page.click('#join-form button')
  await page.locator('#compose').waitFor()
  assert.equal(await page.locator('#you-name').textContent(), 'Bea')
  await page.fill('#compose-text', 'posted without JavaScript')
  await page.click('#compose button[type="submit"]')
  await page.locator('#messages .body', { hasText: 'posted without JavaScript' }).waitFor()

  // reply: the link opens the form with the message named, the post lands in its thread
  await page.locator(`#messages > li[data-id="${root.data.id}"] > .meta a.reply-link`).click()
  assert.equal(new URL(page.url()).searchParams.get('reply'), root.data.id)
  assert.equal(await page.locator('#replying .from').textContent(), 'alice')
  await page.fill('#compose-text', 'a reply without JavaScript')
  await page.click('#compose button[type="submit"]')
  await page.locator(`#messages > li[data-id="${root.data.id}"] details.replies li`, { hasText: 'a reply without JavaScript' }).waitFor()
  const unread = await a2a(s, 'message.unread', { agentToken: alice })
  const got = unread.data.messages.find((m: any) => m.body === 'a reply without JavaScript')
  assert.deepEqual([got.kind, got.from, got.replyTo], ['human', 'Bea', root.data.id])

  // a refusal is a page of its own that leads back
  await page.fill('#compose-text', '   ')
  await page.evaluate(() => (document.getElementById('compose') as HTMLFormElement).submit())
  await page.locator('#refused').waitFor()
  assert.match((await page.locator('#refused .error').textContent())!, /Write something/)
  await page.click('#refused a')
  await page.locator('#compose').waitFor()

  await page.click('#leave-form button')
  await page.locator('#join-form').waitFor()
  assert.deepEqual(unexpected(problems), [])
  await page.goto('about:blank')
  unused()
})

/** The page's CSRF secret cookie and form token, as a browser would get them. */
async function pageForms(s: TestServer, path: string, cookies = '') {
  const res = await fetch(`${s.url}${path}`, { headers: { ...BROWSER, ...(cookies ? { cookie: cookies } : {}) } })
  const body = await res.text()
  const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1]
  return { res, body, token: token!, setCookies: res.headers.getSetCookie() }
}

const cookiePair = (setCookie: string) => setCookie.split(';')[0]

test('cookies are httpOnly, SameSite=Strict and scoped to the page; posts without the cookie, with a bad token or from elsewhere are refused, storing nothing', async (t) => {
  const s = await webServer(t)
  const { roomId, token: alice, name } = await createRoom(s)
  const path = `/${name}`
  const first = await pageForms(s, path)
  const csrfCookie = first.setCookies.find((c) => c.startsWith('convene_csrf='))!
  assert.match(csrfCookie, /; Path=\/[^;]+/)
  assert.ok(csrfCookie.includes(`Path=${path}`), csrfCookie)
  assert.match(csrfCookie, /; HttpOnly/)
  assert.match(csrfCookie, /; SameSite=Strict/)
  assert.doesNotMatch(csrfCookie, /; Secure/, 'plain http')
  const csrf = cookiePair(csrfCookie)
  const post = (action: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${s.url}${path}/${action}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: s.url, ...BROWSER, ...headers },
      body: new URLSearchParams(form),
    })
  const history = async () => (await a2a(s, 'message.history', { agentToken: alice, roomId, limit: 100 })).data.messages.map((m: any) => m.body)
  const agents = async () => (await a2a(s, 'room.info', { roomId })).data.agents

  // joining without the CSRF secret, with a forged token, or from another origin: refused, nobody joins
  for (const [why, form, headers, status] of [
    ['no csrf cookie', { name: 'Zoe', _csrf: first.token }, {}, 403],
    ['forged token', { name: 'Zoe', _csrf: 'forged-token' }, { cookie: csrf }, 403],
    ['missing token', { name: 'Zoe' }, { cookie: csrf }, 403],
    ['foreign origin', { name: 'Zoe', _csrf: first.token }, { cookie: csrf, origin: 'https://evil.example' }, 403],
    ['cross-site fetch', { name: 'Zoe', _csrf: first.token }, { cookie: csrf, 'sec-fetch-site': 'cross-site' }, 403],
    ['empty name', { name: '  ', _csrf: first.token }, { cookie: csrf }, 400],
    ['taken name', { name: 'alice', _csrf: first.token }, { cookie: csrf }, 409],
    ['bad name', { name: 'room-bot', _csrf: first.token }, { cookie: csrf }, 400],
  ] as const) {
    const res = await post('join', form, headers)
    assert.equal(res.status, status, why)
    assert.equal(res.headers.getSetCookie().some((c) => c.startsWith('convene_person=')), false, why)
    assert.match(await res.text(), /id="refused"/, `${why}: a refusal page`)
  }
  assert.deepEqual((await agents()).map((a: any) => a.name), ['alice'])

  // the join itself: the token goes into an httpOnly, SameSite=Strict cookie scoped to the page, never into a page
  const joined = await post('join', { name: 'Zoe', _csrf: first.token }, { cookie: csrf })
  assert.equal(joined.status, 303)
  assert.equal(joined.headers.get('location'), `${path}#compose`)
  const personCookie = joined.headers.getSetCookie().find((c) => c.startsWith('convene_person='))!
  assert.match(personCookie, new RegExp(`; Path=${path}(;|$)`))
  assert.match(personCookie, /; HttpOnly/)
  assert.match(personCookie, /; SameSite=Strict/)
  assert.match(personCookie, /; Max-Age=\d+/)
  const person = cookiePair(personCookie)
  const agentToken = person.slice('convene_person='.length)
  assert.ok(agentToken.length > 20)
  const cookies = `${csrf}; ${person}`
  const mine = await pageForms(s, path, cookies)
  assert.equal(mine.res.headers.get('cache-control'), 'no-store')
  assert.match(mine.body, /id="compose"/)
  assert.ok(!mine.body.includes(agentToken), 'the token never goes into the page')
  assert.deepEqual(
    (await agents()).map(({ joinedAt: _, ...a }: any) => a),
    [
      { name: 'alice', role: 'admin' },
      { name: 'Zoe', role: 'member', kind: 'human' },
    ],
  )
  // the token is an ordinary agent's: it reads over A2A (a person could hand it to an agent)
  assert.equal((await a2a(s, 'message.history', { agentToken, roomId })).text.startsWith('Error'), false)

  const before = await history()
  for (const [why, form, headers, status] of [
    ['no person cookie', { text: 'no cookie', _csrf: first.token }, { cookie: csrf }, 401],
    ['forged token', { text: 'forged', _csrf: 'x'.repeat(40) }, { cookie: cookies }, 403],
    ['missing token', { text: 'no token' }, { cookie: cookies }, 403],
    ['token of another secret', { text: 'other secret', _csrf: (await pageForms(s, path)).token }, { cookie: cookies }, 403],
    ['foreign origin', { text: 'evil', _csrf: first.token }, { cookie: cookies, origin: 'http://evil.example' }, 403],
    ['null origin', { text: 'sandboxed', _csrf: first.token }, { cookie: cookies, origin: 'null' }, 403],
    ['empty text', { text: ' \n ', _csrf: first.token }, { cookie: cookies }, 400],
    ['unknown recipient', { text: 'to whom?', to: 'nobody', _csrf: first.token }, { cookie: cookies }, 400],
    ['already joined', { name: 'Zed', _csrf: first.token }, { cookie: cookies }, 409],
  ] as const) {
    const res = await post(why === 'already joined' ? 'join' : 'send', form, headers)
    assert.equal(res.status, status, why)
  }
  assert.deepEqual(await history(), before, 'nothing was stored')

  // scripts get JSON: a refusal names its code, a post its id
  const refused = await post('send', { text: 'x', _csrf: 'forged' }, { cookie: cookies, accept: 'application/json' })
  assert.equal(refused.status, 403)
  assert.equal((await refused.json()).error, 'CSRF')
  const sent = await post('send', { text: 'hi from Zoe', _csrf: first.token }, { cookie: cookies, accept: 'application/json' })
  assert.equal(sent.status, 200)
  const sentBody = await sent.json()
  assert.equal(sentBody.ok, true)
  const unread = await a2a(s, 'message.unread', { agentToken: alice })
  assert.deepEqual(
    unread.data.messages.filter((m: any) => m.body === 'hi from Zoe').map((m: any) => [m.id, m.from, m.kind]),
    [[sentBody.id, 'Zoe', 'human']],
  )

  // kicked by the admin: the next post is refused and the stale cookie cleared
  await a2a(s, 'room.kick', { agentToken: alice, targetAgent: 'Zoe' })
  const afterKick = await post('send', { text: 'still here?', _csrf: first.token }, { cookie: cookies })
  assert.equal(afterKick.status, 401)
  assert.ok(afterKick.headers.getSetCookie().some((c) => c.startsWith('convene_person=;') && c.includes(`Path=${path}`)), 'cleared')
  assert.ok(!(await history()).includes('still here?'))
})

test('protected rooms: the form posts carry the page’s password; a wrong one, none, or an unknown room is refused', async (t) => {
  const s = await webServer(t)
  const password = 'sesame'
  const { name } = await createRoom(s, { password })
  const path = `/${name}:${password}`
  const forms = await pageForms(s, path)
  const csrf = cookiePair(forms.setCookies.find((c) => c.startsWith('convene_csrf='))!)
  const join = (where: string) =>
    fetch(`${s.url}${where}/join`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf, origin: s.url, accept: 'application/json' },
      body: new URLSearchParams({ name: 'Cy', _csrf: forms.token }),
    })
  for (const [where, status] of [[`/${name}:wrong`, 403], [`/${name}`, 401], [`/${uniq('nowhere')}`, 404]] as const) {
    const res = await join(where)
    assert.equal(res.status, status, where)
    assert.ok((await res.json()).message)
  }
  const ok = await join(path)
  assert.equal(ok.status, 200)
  assert.match(ok.headers.getSetCookie().find((c) => c.startsWith('convene_person='))!, new RegExp(`Path=${path}(;|$)`))
})

test('behind https the cookies are Secure', async (t) => {
  const s = await webServer(t, { overrides: { baseUrl: 'https://convene.example' }, listen: false })
  const { name } = await createRoom(s)
  const res = await s.app.inject({ method: 'GET', url: `/${name}`, headers: BROWSER })
  const set = res.headers['set-cookie']
  const csrf = (Array.isArray(set) ? set : [set]).find((c) => c?.startsWith('convene_csrf='))!
  assert.match(csrf, /; Secure/)
})

test('an A2A push and room.info say kind "human" too', async (t) => {
  const s = await webServer(t)
  const receiver = await Receiver.start(t)
  const { roomId, name } = await createRoom(s)
  await joinRoom(s, roomId, 'pushy', { agentEndpoint: receiver.url })
  const forms = await pageForms(s, `/${name}`)
  const csrf = cookiePair(forms.setCookies.find((c) => c.startsWith('convene_csrf='))!)
  const post = (action: string, form: Record<string, string>, cookie: string) =>
    fetch(`${s.url}/${name}/${action}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: s.url },
      body: new URLSearchParams({ ...form, _csrf: forms.token }),
    })
  const joined = await post('join', { name: 'Dee' }, csrf)
  const person = cookiePair(joined.headers.getSetCookie().find((c) => c.startsWith('convene_person='))!)
  assert.equal((await post('send', { text: 'pushed to you' }, `${csrf}; ${person}`)).status, 303)
  await receiver.until(() => receiver.delivered.some((b) => b.params.message.parts[0].text === 'pushed to you'))
  const pushed = receiver.delivered.find((b) => b.params.message.parts[0].text === 'pushed to you')
  assert.equal(pushed.params.message.metadata.kind, 'human')
  assert.equal(pushed.params.message.metadata.from, 'Dee')
  const joinNotice = receiver.delivered.find((b) => b.params.message.parts[0].text === 'Dee joined the room')
  assert.equal('kind' in joinNotice.params.message.metadata, false, 'room-bot is no person')
  const info = await a2a(s, 'room.info', { roomId })
  assert.deepEqual(info.data.agents.map((a: any) => [a.name, a.kind ?? 'agent']), [['alice', 'agent'], ['pushy', 'agent'], ['Dee', 'human']])
})

test('a person made admin kicks and promotes from the page like any admin; a member person gets no such forms and is refused', async (t) => {
  const s = await webServer(t)
  const { roomId, token: alice, name } = await createRoom(s)
  const bob = await joinRoom(s, roomId, 'bob')
  await joinRoom(s, roomId, 'carol')

  const { page } = await openPage(t, browser)
  await page.goto(`${s.url}/${name}`)
  await live(page)
  await page.fill('#join-name', 'Pat')
  await page.click('#join-form button')
  await page.locator('#compose').waitFor()
  assert.equal(await page.locator('#participants form.admin-acts').count(), 0, 'a member gets no admin forms')
  // a member's forged admin post is refused, and nothing changes
  const csrf = await page.locator('#compose input[name="_csrf"]').getAttribute('value')
  const refused = await page.evaluate(
    async ([path, token]) => (await fetch(`${path}/admin`, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: token!, op: 'kick', target: 'bob' }) })).json(),
    [`/${name}`, csrf],
  )
  assert.equal(refused.error, 'ADMIN_REQUIRED')
  assert.equal((await a2a(s, 'message.unread', { agentToken: bob })).text.startsWith('Error'), false)

  await a2a(s, 'room.promote', { agentToken: alice, targetAgent: 'Pat' })
  await page.reload()
  await live(page)
  const bobRow = page.locator('#participants li[data-agent="bob"]')
  await bobRow.locator('button[value="kick"]').click()
  await page.locator('#participants li[data-agent="bob"]').waitFor({ state: 'detached', timeout: 10_000 })
  assert.equal((await a2a(s, 'message.unread', { agentToken: bob })).text, 'Error: Invalid agentToken')
  await page.locator('#participants li[data-agent="carol"] button[value="promote"]').click()
  await page.locator('#participants li[data-agent="carol"] .badge.admin').waitFor({ timeout: 10_000 })
  const info = await a2a(s, 'room.info', {}, { contextId: roomId })
  assert.deepEqual(info.data.agents.map((a: any) => [a.name, a.role]).sort(), [['Pat', 'admin'], ['alice', 'admin'], ['carol', 'admin']])
})
