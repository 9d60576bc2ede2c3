// Path leases on the room page: who holds which paths, server-rendered, kept current live, escaped; and on the text page.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { a2a, createRoom, joinRoom } from '../helpers.ts'
import { launch, openPage, type Browser } from './browser.ts'
import { webServer } from './server.ts'

let browser: Browser
before(async () => {
  browser = await launch()
})
after(() => browser?.close())

test('the room page lists active leases and who holds them, and follows acquire and release live', async (t) => {
  const s = await webServer(t)
  const { roomId, token: alice, name } = await createRoom(s)
  const bob = await joinRoom(s, roomId, 'bob')
  await a2a(s, 'lease.acquire', { agentToken: alice, paths: ['src/api/**'], reason: 'refactor <b>now</b>' })

  const { page } = await openPage(t, browser)
  await page.goto(`${s.url}/${name}`)
  await page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 })
  const leases = page.locator('#leases li')
  assert.equal(await leases.count(), 1)
  assert.match((await leases.first().textContent())!, /alice exclusive src\/api\/\*\* — refactor <b>now<\/b> until \d{4}-\d\d-\d\d/)
  assert.equal(await page.locator('#leases b').count(), 0, 'the reason is text, not markup')

  // bob's shared lease appears without a reload (its room-bot notice refreshes the section); alice's release removes hers
  await a2a(s, 'lease.acquire', { agentToken: bob, paths: ['docs/*.md'], exclusive: false })
  await page.locator('#leases li[data-agent="bob"]').waitFor({ timeout: 10_000 })
  assert.match((await page.locator('#leases li[data-agent="bob"]').textContent())!, /bob shared docs\/\*\.md/)
  await a2a(s, 'lease.release', { agentToken: alice })
  await page.locator('#leases li[data-agent="alice"]').waitFor({ state: 'detached', timeout: 10_000 })
  assert.equal(await page.locator('#leases li').count(), 1)

  const text = (await s.app.inject({ url: `/${name}`, headers: { accept: 'text/markdown' } })).body
  assert.match(text, /## Leases \(1\)\n\n- bob: docs\/\*\.md \(shared, until .* UTC\)/)
})
