// Wait tasks: message.waits that outlive their request, through the real app on both stores.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { WaitTask } from '../../lib/rooms/service.ts'
import { a2a, createRoom, DATABASE_URL, joinRoom, startApp, testConfig, type TestServer } from '../helpers.ts'

/** Resolves when the task has ended, as seen by `srv`. */
const ended = (srv: TestServer, id: string) => new Promise<WaitTask>((resolve) => srv.app.rooms.followWaitTask(id, resolve))
const bodies = (t: WaitTask) => t.result?.data.messages.map((m) => m.body)

async function room(srv: TestServer) {
  const { roomId, token: alice } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const carol = await joinRoom(srv, roomId, 'carol')
  // join notices read: nothing is unread for alice or bob
  for (const agentToken of [alice, bob]) await srv.app.rooms.unread({ agentToken })
  return { roomId, alice, bob, carol }
}

test('a wait task completes when another agent writes, and marks those messages read', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const { rooms } = srv.app
  const { roomId, alice, bob } = await room(srv)
  const task = await rooms.startWaitTask({ agentToken: bob })
  assert.match(task.id, /^wt_[A-Za-z0-9_-]{22}$/, '128 random bits, base64url')
  assert.equal(task.status, 'working')
  assert.equal(task.roomId, roomId)
  assert.equal(task.result, null)
  const hour = task.deadline.getTime() - task.createdAt.getTime()
  assert.equal(hour, 3_600_000, 'default timeout: an hour')
  const done = ended(srv, task.id)
  // A DM to someone else is not for bob: the task completes only with the broadcast that follows.
  await rooms.send({ agentToken: alice, text: 'for carol only', to: 'carol' })
  await rooms.send({ agentToken: bob, text: 'my own words' })
  await rooms.send({ agentToken: alice, text: 'hello all' })
  const t1 = await done
  assert.equal(t1.status, 'completed')
  assert.deepEqual(bodies(t1), ['hello all'])
  assert.equal(t1.result?.text, '1 unread message(s)')
  assert.equal(t1.result?.roomId, roomId)
  assert.equal(t1.result?.data.total, 1)
  assert.equal(t1.error, null)
  assert.deepEqual(await rooms.waitTask(task.id), t1, 'the stored task is what the follower heard')
  assert.deepEqual((await rooms.unread({ agentToken: bob })).data.messages, [], 'the task marked them read')
})

test('of two wait tasks of one agent, each message goes to one of them', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const { rooms } = srv.app
  const { alice, bob } = await room(srv)
  const first = await rooms.startWaitTask({ agentToken: bob, timeout: 600 })
  const second = await rooms.startWaitTask({ agentToken: bob, timeout: 600 })
  const [a, b] = [ended(srv, first.id), ended(srv, second.id)]
  await rooms.send({ agentToken: alice, text: 'one' })
  const got = await Promise.race([a, b])
  await rooms.send({ agentToken: alice, text: 'two' })
  const [ta, tb] = await Promise.all([a, b])
  assert.deepEqual([bodies(ta), bodies(tb)].sort(), [['one'], ['two']])
  assert.deepEqual(bodies(got), ['one'])
})

test('a wait task completes at once when something is already unread', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const { rooms } = srv.app
  const { alice, bob } = await room(srv)
  await rooms.send({ agentToken: alice, text: 'before' })
  const task = await rooms.startWaitTask({ agentToken: bob, timeout: 60 })
  assert.equal(task.status, 'completed')
  assert.deepEqual(bodies(task), ['before'])
  assert.deepEqual((await rooms.unread({ agentToken: bob })).data.messages, [])
  // Following an ended task calls back at once.
  assert.equal((await ended(srv, task.id)).status, 'completed')
})

test('a wait task completes empty at its deadline', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const { rooms } = srv.app
  const { bob } = await room(srv)
  const t0 = Date.now()
  const task = await rooms.startWaitTask({ agentToken: bob, timeout: 1 })
  const done = await ended(srv, task.id)
  assert.ok(Date.now() - t0 >= 950, 'not before its deadline')
  assert.equal(done.status, 'completed')
  assert.deepEqual(done.result, { text: 'No unread messages', roomId: task.roomId, data: { messages: [], total: 0 } })
})

test('cancelling a wait task; unknown ids are null', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const { rooms } = srv.app
  const { alice, bob } = await room(srv)
  const task = await rooms.startWaitTask({ agentToken: bob })
  const heard = ended(srv, task.id)
  const cancelled = await rooms.cancelWaitTask(task.id)
  assert.equal(cancelled?.status, 'cancelled')
  assert.equal(cancelled?.result, null)
  assert.deepEqual(await heard, cancelled, 'followers hear the cancel')
  assert.deepEqual(await rooms.cancelWaitTask(task.id), cancelled, 'an ended task is returned unchanged')
  await rooms.send({ agentToken: alice, text: 'after the cancel' })
  assert.equal((await rooms.waitTask(task.id))?.status, 'cancelled')
  assert.deepEqual((await rooms.unread({ agentToken: bob })).data.messages.map((m) => m.body), ['after the cancel'], 'still unread')
  // A completed task cannot be cancelled.
  await rooms.send({ agentToken: alice, text: 'x' })
  const done = await rooms.startWaitTask({ agentToken: bob })
  assert.equal(done.status, 'completed')
  assert.equal((await rooms.cancelWaitTask(done.id))?.status, 'completed')
  for (const id of ['wt_nope', `wt_${'A'.repeat(22)}`, '']) {
    assert.equal(await rooms.waitTask(id), null)
    assert.equal(await rooms.cancelWaitTask(id), null)
  }
})

test('wait tasks are capped per agent, and bad input is refused naming what was wrong', async (t) => {
  const srv = await startApp(t, { maxWaitTasksPerAgent: 2 }, { listen: false })
  const { rooms } = srv.app
  const { alice, bob } = await room(srv)
  const first = await rooms.startWaitTask({ agentToken: bob })
  await rooms.startWaitTask({ agentToken: bob })
  await assert.rejects(rooms.startWaitTask({ agentToken: bob }), (e: any) => {
    assert.equal(e.code, 'TOO_MANY_WAIT_TASKS')
    assert.match(e.message, /at most 2/)
    assert.match(e.message, /tasks\/cancel/)
    return true
  })
  assert.equal((await rooms.startWaitTask({ agentToken: alice })).status, 'working', 'the cap is per agent')
  await rooms.cancelWaitTask(first.id)
  assert.equal((await rooms.startWaitTask({ agentToken: bob })).status, 'working', 'a cancelled task frees its place')
  await assert.rejects(rooms.startWaitTask({ agentToken: bob, timeout: 86_401 }), (e: any) => {
    assert.equal(e.code, 'INVALID_PARAMETER')
    assert.equal(e.message, 'timeout must be a number from 0 to 86400 (seconds)')
    return true
  })
  await assert.rejects(rooms.startWaitTask({ agentToken: crypto.randomUUID() }), { code: 'INVALID_TOKEN', message: 'Invalid agentToken' })
  assert.equal((await rooms.startWaitTask({ agentToken: alice, timeout: 86_400 })).status, 'working')
})

test('message.wait held by its request keeps its 60-second limit', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const { bob } = await room(srv)
  const r = await a2a(srv, 'message.wait', { agentToken: bob, timeout: 61 })
  assert.equal(r.text, 'Error: timeout must be a number from 0 to 60 (up to 86400 when run as an MCP task)')
  assert.equal(r.data.error.code, 'INVALID_PARAMETER')
  const over = await a2a(srv, 'message.wait', { agentToken: bob, timeout: 86_401 })
  assert.equal(over.text, 'Error: timeout must be a number from 0 to 86400')
})

test('a wait task of an agent who is kicked fails with Invalid agentToken', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const { rooms } = srv.app
  const { alice, bob } = await room(srv)
  const task = await rooms.startWaitTask({ agentToken: bob })
  const done = ended(srv, task.id)
  await rooms.kick({ agentToken: alice, targetAgent: 'bob' })
  const failed = await done
  assert.equal(failed.status, 'failed')
  assert.equal(failed.error, 'Invalid agentToken')
  assert.equal(failed.result, null)
  assert.deepEqual(await rooms.waitTask(task.id), failed)
})

test('a wait task whose room expires fails with Invalid agentToken', async (t) => {
  let now = Date.now()
  const srv = await startApp(t, { roomTtlDays: 1 }, { listen: false, clock: () => new Date(now) })
  const { rooms } = srv.app
  const { bob } = await room(srv)
  const task = await rooms.startWaitTask({ agentToken: bob })
  const done = ended(srv, task.id)
  now += 2 * 86_400_000
  assert.ok((await rooms.reapIdleRooms()).includes(task.roomId))
  const failed = await done
  assert.equal(failed.status, 'failed')
  assert.equal(failed.error, 'Invalid agentToken')
  assert.equal(await rooms.waitTask(task.id), null, 'the task went with its room')
})

test('a wait task survives a restart and completes on the new instance', async (t) => {
  const config = await testConfig(t)
  const first = await startApp(null, {}, { config, listen: false })
  const { alice, bob } = await room(first)
  const task = await first.app.rooms.startWaitTask({ agentToken: bob })
  await first.app.close()

  const second = await startApp(t, {}, { config, listen: false })
  const { rooms } = second.app
  assert.equal((await rooms.waitTask(task.id))?.status, 'working')
  const done = ended(second, task.id)
  await rooms.send({ agentToken: alice, text: 'after restart' })
  const t1 = await done
  assert.equal(t1.status, 'completed')
  assert.deepEqual(bodies(t1), ['after restart'])
})

if (DATABASE_URL) {
  test('two instances: a task started on A completes when B sends, and A hears it', async (t) => {
    const config = await testConfig(t)
    const a = await startApp(t, {}, { config, listen: false })
    const b = await startApp(t, {}, { config: { ...config }, listen: false })
    const { roomId, alice, bob } = await room(a)
    const task = await a.app.rooms.startWaitTask({ agentToken: bob })
    const onA = ended(a, task.id)
    const onB = ended(b, task.id)
    await b.app.rooms.send({ agentToken: alice, text: 'from B' })
    const [ta, tb] = await Promise.all([onA, onB])
    assert.equal(ta.status, 'completed')
    assert.deepEqual(bodies(ta), ['from B'])
    assert.deepEqual(tb, ta, 'both instances see the one completion')
    assert.equal(ta.roomId, roomId)
    assert.deepEqual((await b.app.rooms.unread({ agentToken: bob })).data.messages, [])
  })

  test('two instances: a task started on an instance that died completes on the other (its sweep finds it)', async (t) => {
    const config = await testConfig(t)
    const a = await startApp(null, {}, { config, listen: false })
    const b = await startApp(t, {}, { config: { ...config }, listen: false })
    const { alice, bob } = await room(a)
    const task = await a.app.rooms.startWaitTask({ agentToken: bob })
    await a.app.close()
    await b.app.rooms.send({ agentToken: alice, text: 'anyone there?' })
    const done = await ended(b, task.id)
    assert.equal(done.status, 'completed')
    assert.deepEqual(bodies(done), ['anyone there?'])
  })

  test('two instances: a task cancelled on B is heard by a follower on A', async (t) => {
    const config = await testConfig(t)
    const a = await startApp(t, {}, { config, listen: false })
    const b = await startApp(t, {}, { config: { ...config }, listen: false })
    const { bob } = await room(a)
    const task = await a.app.rooms.startWaitTask({ agentToken: bob })
    const onA = ended(a, task.id)
    await b.app.rooms.cancelWaitTask(task.id)
    assert.equal((await onA).status, 'cancelled')
  })
}
