import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { a2a, createRoom, joinRoom, startApp, type TestServer } from '../helpers.ts'
import { connect, text } from '../mcp/helpers.ts'
import { connectModern } from '../mcp/modern-helpers.ts'

let srv: TestServer
let now = new Date('2026-03-01T10:00:00Z')
/** Moves the room clock on by `ms` (messages take their timestamp from it). */
const tick = (ms = 1000) => (now = new Date(now.getTime() + ms))

before(async () => {
  srv = await startApp(null, {}, { clock: () => now })
})
after(() => srv.app.close())

const send = (token: string, body: string, to?: string) => {
  tick()
  return a2a(srv, 'message.send', { agentToken: token, ...(to ? { to } : {}) }, { text: body })
}
const search = (token: string, query: string, params: Record<string, unknown> = {}) =>
  a2a(srv, 'message.search', { agentToken: token, query, ...params })
const bodies = (r: { data: any }) => r.data.results.map((h: any) => h.message.body)

/** A room where alice, bob and eve talk; alice and bob also exchange DMs. */
async function chatRoom() {
  const { roomId, token: alice } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const eve = await joinRoom(srv, roomId, 'eve')
  return { roomId, alice, bob, eve }
}

describe('message.search', () => {
  test('finds messages by their words, stemmed, best match first, with the hit marked in the snippet', async () => {
    const { roomId, alice, bob } = await chatRoom()
    await send(alice, 'The parser fails on empty config files')
    await send(bob, 'Lunch at noon?')
    await send(bob, 'I fixed the parser: the parser now skips empty lines, parser tests pass')
    await send(alice, 'Deploying the router fix tonight')
    const r = await search(bob, 'parser', { limit: 10 })
    assert.equal(r.contextId, roomId)
    assert.equal(r.data.total, 2)
    assert.deepEqual(bodies(r), ['I fixed the parser: the parser now skips empty lines, parser tests pass', 'The parser fails on empty config files'])
    assert.ok(r.data.results[0].rank > r.data.results[1].rank, 'more matches rank higher')
    for (const h of r.data.results) {
      assert.equal(h.seq, h.message.seq)
      assert.match(h.snippet, /«parser»/)
      assert.equal(h.message.roomId, roomId)
      assert.equal(typeof h.message.timestamp, 'string')
    }
    assert.match(r.text, /^2 of 2 matching message\(s\)/)
    // stemming: "fixes" finds "fixed" and "fix"; the snippet marks the word as written
    const fixes = await search(alice, 'fixes')
    assert.deepEqual(bodies(fixes).sort(), ['Deploying the router fix tonight', 'I fixed the parser: the parser now skips empty lines, parser tests pass'])
    assert.ok(fixes.data.results.some((h: any) => h.snippet.includes('«fixed»')))
    // web-search syntax: a phrase, or, -word
    assert.deepEqual(bodies(await search(alice, '"router fix"')), ['Deploying the router fix tonight'])
    assert.deepEqual(bodies(await search(alice, 'lunch or deploying')).sort(), ['Deploying the router fix tonight', 'Lunch at noon?'])
    assert.deepEqual(bodies(await search(alice, 'parser -fixed')), ['The parser fails on empty config files'])
    // nothing matches: an empty result, not an error
    const none = await search(alice, 'kubernetes')
    assert.equal(none.text, 'No messages match')
    assert.deepEqual(none.data, { results: [], total: 0 })
  })

  test('room-bot notices are searchable (push summaries, joins)', async () => {
    const { roomId, alice } = await chatRoom()
    await srv.app.rooms.postNotice(roomId, 'alice pushed 2 commits to main: abc1234 flaky websocket reconnect')
    const r = await search(alice, 'websocket reconnect', { from: 'room-bot' })
    assert.deepEqual(bodies(r), ['alice pushed 2 commits to main: abc1234 flaky websocket reconnect'])
    assert.equal(r.data.results[0].message.from, 'room-bot')
    assert.deepEqual(bodies(await search(alice, 'joined')).sort(), ['bob joined the room', 'eve joined the room'])
  })

  test('a message stored without a search vector (an older instance mid-upgrade, a hand-written INSERT) is found too', async () => {
    const { roomId, alice } = await chatRoom()
    await srv.app.db.query(
      `WITH r AS (UPDATE rooms SET last_seq = last_seq + 1, public_count = public_count + 1 WHERE id = $1 RETURNING last_seq)
       INSERT INTO messages (room_id, seq, id, sender, body, created_at) SELECT $1, r.last_seq, gen_random_uuid(), 'room-bot', $2, $3 FROM r`,
      [roomId, 'the nightly zeppelin migration finished', tick()],
    )
    assert.deepEqual(bodies(await search(alice, 'zeppelin migrations')), ['the nightly zeppelin migration finished'])
  })

  test('from, since, until, limit and offset', async () => {
    const { alice, bob } = await chatRoom()
    const sent: { seq: number; timestamp: string; from: string }[] = []
    for (let i = 0; i < 6; i++) {
      const who = i % 2 === 0 ? 'alice' : 'bob'
      const r = await send(who === 'alice' ? alice : bob, `status report number ${i} from ${who}`)
      sent.push({ seq: r.data.seq, timestamp: now.toISOString(), from: who })
    }
    const all = await search(bob, 'status report', { limit: 100 })
    assert.equal(all.data.total, 6)
    // equal ranks: newest first
    assert.deepEqual(all.data.results.map((h: any) => h.seq), sent.map((s) => s.seq).reverse())

    const fromBob = await search(alice, 'status', { from: 'bob' })
    assert.deepEqual(fromBob.data.results.map((h: any) => h.message.from), ['bob', 'bob', 'bob'])
    assert.equal((await search(alice, 'status', { from: 'nobody' })).data.total, 0)

    const since = await search(alice, 'status', { since: sent[2].timestamp })
    assert.deepEqual(since.data.results.map((h: any) => h.seq).sort(), sent.slice(2).map((s) => s.seq))
    const until = await search(alice, 'status', { until: sent[1].timestamp })
    assert.deepEqual(until.data.results.map((h: any) => h.seq).sort(), sent.slice(0, 2).map((s) => s.seq))
    const window = await search(alice, 'status', { since: sent[1].timestamp, until: sent[3].timestamp, from: 'alice' })
    assert.deepEqual(window.data.results.map((h: any) => h.seq), [sent[2].seq])
    // an offset zone and a plain date are read as instants
    const shifted = new Date(Date.parse(sent[4].timestamp)).toISOString().replace('Z', '+00:00')
    assert.equal((await search(alice, 'status', { since: shifted })).data.total, 2)
    assert.equal((await search(alice, 'status', { until: '2000-01-01' })).data.total, 0)

    const page1 = await search(alice, 'status', { limit: 4 })
    const page2 = await search(alice, 'status', { limit: 4, offset: 4 })
    assert.equal(page1.data.results.length, 4)
    assert.equal(page2.data.results.length, 2)
    assert.equal(page2.data.total, 6, 'the total survives paging')
    assert.deepEqual([...page1.data.results, ...page2.data.results].map((h: any) => h.seq), all.data.results.map((h: any) => h.seq))
    const past = await search(alice, 'status', { offset: 50 })
    assert.deepEqual(past.data, { results: [], total: 6 })
  })

  test('threadId: only the thread (its root and every reply), with each result naming its thread', async () => {
    const { alice, bob, eve } = await chatRoom()
    const root = (await send(alice, 'release checklist for the search feature')).data.id
    const reply = (await send(bob, 'search checklist: benchmarks first', undefined)).data.id
    const inThread = (await a2a(srv, 'message.send', { agentToken: bob, replyTo: root }, { text: 'checklist item: search benchmarks' })).data.id
    const deeper = (await a2a(srv, 'message.send', { agentToken: alice, replyTo: inThread }, { text: 'checklist done' })).data.id
    const secret = (await a2a(srv, 'message.send', { agentToken: alice, replyTo: root, to: 'bob' }, { text: 'checklist secret' })).data.id
    const r = await search(bob, 'checklist', { threadId: root, limit: 100 })
    assert.deepEqual(r.data.results.map((h: any) => h.message.id).sort(), [root, inThread, deeper, secret].sort())
    for (const h of r.data.results) assert.equal(h.message.threadId, root)
    assert.ok(!r.data.results.some((h: any) => h.message.id === reply))
    // the DM in the thread stays between alice and bob
    assert.deepEqual((await search(eve, 'checklist', { threadId: root })).data.results.map((h: any) => h.message.id).sort(), [root, inThread, deeper].sort())
    assert.equal((await search(bob, 'checklist', { threadId: root.toUpperCase() })).data.total, 4)
  })

  test('threadId follows message.thread: a reply stands for its thread; an unknown or invisible id is the same error', async () => {
    const { alice, bob, eve } = await chatRoom()
    const thread = (token: string, threadId: string) => a2a(srv, 'message.thread', { agentToken: token, threadId })
    const reply = (token: string, replyTo: string, body: string, to?: string) => {
      tick()
      return a2a(srv, 'message.send', { agentToken: token, replyTo, ...(to ? { to } : {}) }, { text: body })
    }
    const root = (await send(alice, 'migration plan for the index')).data.id
    const r1 = (await reply(bob, root, 'migration needs a lock timeout')).data.id
    const r2 = (await reply(alice, r1, 'migration lock timeout set')).data.id
    await send(eve, 'unrelated migration elsewhere')
    const ids = (r: { data: any }) => r.data.results.map((h: any) => h.message.id).sort()
    const whole = [root, r1, r2].sort()
    for (const given of [root, r1, r2, r2.toUpperCase()]) assert.deepEqual(ids(await search(eve, 'migration', { threadId: given })), whole, given)
    // a DM of the thread: its own id stands for the thread for alice and bob, for nobody else
    const dm = (await reply(alice, r1, 'migration secret', 'bob')).data.id
    assert.deepEqual(ids(await search(bob, 'migration', { threadId: dm })), [...whole, dm].sort())
    const unknown = crypto.randomUUID()
    for (const [token, id] of [[eve, dm], [bob, unknown]] as const) {
      const viaThread = await thread(token, id)
      const viaSearch = await search(token, 'migration', { threadId: id })
      assert.match(viaSearch.text, /^Error: threadId: no thread .* that you can see in this room/)
      assert.equal(viaSearch.text, viaThread.text, 'the same error as message.thread')
    }
    // another room's message is unknown here
    const other = await chatRoom()
    const elsewhere = (await send(other.alice, 'migration in another room')).data.id
    assert.match((await search(alice, 'migration', { threadId: elsewhere })).text, /^Error: threadId: no thread/)
  })

  test('the query may ride in parts[0].text, the room in contextId (which must be the token’s room)', async () => {
    const { roomId, alice } = await chatRoom()
    await send(alice, 'benchmarks look great')
    const r = await a2a(srv, 'search', { agentToken: alice }, { text: 'benchmark', contextId: roomId })
    assert.deepEqual(bodies(r), ['benchmarks look great'])
    const other = await createRoom(srv)
    const wrong = await a2a(srv, 'message.search', { agentToken: alice }, { text: 'benchmark', contextId: other.roomId })
    assert.match(wrong.text, /^Error: agentToken does not belong to this room/)
  })
})

describe('search privacy: never another agent’s direct message', () => {
  test('by the DM’s words, by its sender, by a third agent, by paging and by a later agent of the same name', async () => {
    const { roomId, alice, bob, eve } = await chatRoom()
    await send(alice, 'zebra launch codes are 1234', 'bob')
    await send(bob, 'zebra reply: got the codes', 'alice')
    await send(alice, 'public zebra notes for everyone')

    const byWords = await search(eve, 'zebra codes', { limit: 100 })
    assert.deepEqual(byWords.data, { results: [], total: 0 })
    const anyZebra = await search(eve, 'zebra')
    assert.deepEqual(bodies(anyZebra), ['public zebra notes for everyone'])
    assert.equal(anyZebra.data.total, 1, 'the total counts only what eve may see')
    assert.deepEqual(bodies(await search(eve, 'zebra', { from: 'alice' })), ['public zebra notes for everyone'])
    assert.deepEqual(bodies(await search(eve, 'zebra', { from: 'bob' })), [])
    assert.deepEqual(bodies(await search(eve, 'zebra or codes or launch or reply', { offset: 0, limit: 100 })), ['public zebra notes for everyone'])
    assert.deepEqual(bodies(await search(eve, '"launch codes"')), [])

    // sender and recipient both find it
    assert.deepEqual(bodies(await search(bob, 'launch codes')), ['zebra launch codes are 1234'])
    assert.deepEqual(bodies(await search(alice, 'launch codes')), ['zebra launch codes are 1234'])
    assert.equal((await search(alice, 'zebra')).data.total, 3)
    const dm = (await search(bob, 'launch')).data.results[0].message
    assert.equal(dm.to, 'bob')

    // a newcomer, and a later agent reusing bob's name, see only the broadcast
    const carol = await joinRoom(srv, roomId, 'carol')
    assert.deepEqual(bodies(await search(carol, 'zebra')), ['public zebra notes for everyone'])
    await a2a(srv, 'room.leave', { agentToken: bob })
    const bob2 = await joinRoom(srv, roomId, 'bob')
    assert.deepEqual(bodies(await search(bob2, 'zebra')), ['public zebra notes for everyone'])

    // MCP: the same
    const c = await connect(null, srv.url)
    try {
      await c.call('joinRoom', { roomId, agentName: 'mallory' })
      const r = await c.call('searchMessages', { query: 'zebra launch codes' })
      assert.equal(r.structuredContent.total, 0)
    } finally {
      await c.close()
    }
  })

  test('another room’s messages never show', async () => {
    const a = await chatRoom()
    const b = await chatRoom()
    await send(a.alice, 'quokka sighting in room a')
    assert.equal((await search(b.alice, 'quokka')).data.total, 0)
  })
})

describe('search input', () => {
  test('bad parameters are errors naming the parameter', async () => {
    const { alice } = await chatRoom()
    const err = async (params: Record<string, unknown>, re: RegExp) => {
      const r = await a2a(srv, 'message.search', { agentToken: alice, ...params })
      assert.match(r.text, re, JSON.stringify(params))
      assert.equal(r.data.error ? typeof r.data.error.code : 'string', 'string')
    }
    await err({}, /^Error: query is required/)
    await err({ query: '' }, /^Error: query is required/)
    await err({ query: '   \n ' }, /^Error: query is required/)
    await err({ query: 'x'.repeat(501) }, /^Error: query must be at most 500 characters/)
    await err({ query: '🦓'.repeat(501) }, /^Error: query must be at most 500 characters/)
    assert.match((await search(alice, 'x'.repeat(500))).text, /^No messages match/)
    assert.match((await search(alice, '🦓'.repeat(500))).text, /^No messages match/)
    for (const since of ['yesterday', '2026-13-01', '2026-02-30', '2026-01-31T25:00:00Z', '2026-01-31T10:00:00', '1700000000', '2026-01-31T10:00:00+99:00']) {
      await err({ query: 'x', since }, /^Error: since must be an ISO 8601 date-time/)
    }
    await err({ query: 'x', until: 'next week' }, /^Error: until must be an ISO 8601 date-time/)
    await err({ query: 'x', since: '2026-02-01', until: '2026-01-01' }, /^Error: until must not be before since/)
    await err({ query: 'x', limit: 0 }, /^Error: limit must be an integer from 1 to 100/)
    await err({ query: 'x', limit: 101 }, /^Error: limit must be an integer from 1 to 100/)
    await err({ query: 'x', offset: -1 }, /^Error: offset must be an integer ≥ 0/)
    await err({ query: 'x', threadId: 'not-a-message' }, /^Error: threadId must be a message id/)
    await err({ query: 'x', agentToken: 'nope' }, /^Error: Invalid agentToken/)
    await err({ query: 'x', agentToken: undefined }, /^Error: agentToken is required/)
  })

  test('a query with no searchable word (stop words, punctuation) is an empty result', async () => {
    const { alice } = await chatRoom()
    await send(alice, 'the and of it')
    for (const q of ['the', 'and or of', '!!!', '---', '"" ()']) {
      const r = await search(alice, q)
      assert.deepEqual(r.data, { results: [], total: 0 }, q)
    }
  })

  test('hostile query strings never fail the server', async () => {
    const { roomId, alice } = await chatRoom()
    await send(alice, "O'Reilly said: (a & b) | !c -> `rm -rf /` \\ café 東京 🦓 <script>alert(1)</script>")
    const hostile = [
      "'", '"', '""', '"unterminated', "O'Reilly", '\\', '\\\\', '\\"', '&', '|', '!', '!!', '(', ')', '()', ':*', 'a:*', 'café:*',
      '& | ! ( ) : *', "a & b | !c", '(a | b) & !(c', "'; DROP TABLE messages; --", '$1', '%', '_', '-', '- -', 'or', 'OR OR',
      '"or"', '-"a b"', 'a <-> b', 'a <2> b', 'café', '東京', '🦓', '\u200b', '\u202e', '\ud83e', 'ﬁx', 'Ⅻ', 'A'.repeat(500),
      'x '.repeat(250), '"'.repeat(500), '('.repeat(500), '-'.repeat(500), '- '.repeat(100) + 'x', '-('.repeat(100) + 'x',
      'x ' + '-\u3000'.repeat(100), '-"'.repeat(200), '<script>alert(1)</script>', '\t\r\n x',
    ]
    const ask = async (query: string) => {
      const res = await fetch(`${srv.url}/a2a`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0', id: 1, method: 'SendMessage',
          params: { message: { role: 'user', parts: [{ text: '' }], contextId: roomId, metadata: { action: 'message.search', agentToken: alice, query } } },
        }),
      })
      assert.equal(res.status, 200, query)
      const json = (await res.json()) as any
      const reply = json.result.message ?? json.result
      const said = reply.parts[0].text as string
      assert.ok(!said.startsWith('Error'), `${JSON.stringify(query)}: ${said}`)
    }
    for (const query of hostile) await ask(query)
    // Random strings of the characters web-search syntax gives meaning to (runs of "-" once overflowed the parser).
    const unit = fc.constantFrom('-', '-', '-', ' ', '\u3000', '"', "'", '(', ')', '!', '&', '|', '<', '>', ':', '*', '\\', 'or', 'x', 'é', '🦓')
    await fc.assert(
      fc.asyncProperty(fc.string({ unit, minLength: 1, maxLength: 500 }).filter((q) => q.trim() !== '' && [...q].length <= 500), ask),
      { seed: 16, numRuns: 100, endOnFailure: true },
    )
    const nots = fc.string({ unit: fc.constantFrom('-', '-', ' ', '(', '!', '|', '\t'), minLength: 1, maxLength: 480, size: 'max' })
    await fc.assert(
      fc.asyncProperty(fc.tuple(nots, fc.constantFrom('', ' x', 'word')).map(([a, b]) => a + b).filter((q) => q.trim() !== ''), ask),
      { seed: 16, numRuns: 60, endOnFailure: true },
    )
    assert.deepEqual(bodies(await search(alice, "O'Reilly")), ["O'Reilly said: (a & b) | !c -> `rm -rf /` \\ café 東京 🦓 <script>alert(1)</script>"])
    assert.equal((await search(alice, '東京')).data.total, 1)
    assert.equal((await search(alice, 'cafe')).data.total, 0, 'no accent folding: café is its own word')
  })
})

describe('searchMessages over MCP', () => {
  test('2026-07-28: the agentToken rides as an argument; other agents’ DMs stay out', async () => {
    const { alice, bob, eve } = await chatRoom()
    await send(alice, 'okapi sighting for all')
    await send(alice, 'okapi secret for bob', 'bob')
    const c = await connectModern(null, srv.url)
    try {
      const asEve = await c.call('searchMessages', { agentToken: eve, query: 'okapi' })
      assert.equal(asEve.isError, undefined, asEve.text)
      assert.deepEqual(asEve.structuredContent.results.map((h: any) => h.message.body), ['okapi sighting for all'])
      const asBob = await c.call('searchMessages', { agentToken: bob, query: 'okapi secret' })
      assert.deepEqual(asBob.structuredContent.results.map((h: any) => h.message.body), ['okapi secret for bob'])
      const none = await c.call('searchMessages', { query: 'okapi' })
      assert.equal(none.isError, true)
    } finally {
      await c.close()
    }
  })

  test('is listed with its schemas, runs on the session’s room and reports bad input as a tool error', async () => {
    const { roomId, alice } = await chatRoom()
    await send(alice, 'The migration script needs a rollback step')
    const c = await connect(null, srv.url)
    try {
      const { tools } = await c.client.listTools()
      const tool = tools.find((x) => x.name === 'searchMessages')
      assert.ok(tool, 'searchMessages is in tools/list')
      assert.deepEqual(tool.inputSchema.required, ['query'])
      assert.ok(!('agentToken' in (tool.inputSchema.properties ?? {})))
      assert.equal(tool.annotations?.readOnlyHint, true)
      assert.ok(tool.outputSchema?.properties?.results)

      const early = await c.call('searchMessages', { query: 'rollback' })
      assert.equal(early.isError, true)
      assert.match(text(early), /Not joined to any room/)
      await c.call('joinRoom', { roomId, agentName: 'mcp-agent' })
      const r = await c.call('searchMessages', { query: 'rollback', limit: 5 })
      assert.equal(r.isError, undefined)
      assert.match(text(r), /^1 of 1 matching message\(s\)/)
      assert.equal(r.structuredContent.total, 1)
      assert.equal(r.structuredContent.results[0].message.body, 'The migration script needs a rollback step')
      assert.match(r.structuredContent.results[0].snippet, /«rollback»/)
      assert.deepEqual(r.json.results, r.structuredContent.results)

      const bad = await c.call('searchMessages', { query: 'x', since: 'last tuesday' })
      assert.equal(bad.isError, true)
      assert.match(text(bad), /since must be an ISO 8601 date-time/)
      const long = await c.call('searchMessages', { query: 'y'.repeat(501) })
      assert.equal(long.isError, true)
      assert.match(text(long), /query must be at most 500 characters/)
    } finally {
      await c.close()
    }
  })
})
