// A2A streaming and Tasks with the real @a2a-js/sdk client (A2A 1.0): room.subscribe, SubscribeToTask resume, Get/List/CancelTask.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClientFactory } from '@a2a-js/sdk/client'
import { Role } from '@a2a-js/sdk'
import { a2a, aliceBobCarol, DATABASE_URL, startApp, type TestServer } from '../helpers.ts'
import { Receiver } from '../realtime/receiver.ts'

const sdk = (srv: TestServer) => new ClientFactory().createFromUrl(srv.url)
const send = (srv: TestServer, agentToken: string, text: string, more: Record<string, unknown> = {}) =>
  a2a(srv, 'message.send', { agentToken, ...more }, { text })
// ts-proto types want every field; the client fills the ones left out
const subscribeParams = (agentToken: string, roomId: string): any => ({
  message: { messageId: crypto.randomUUID(), role: Role.ROLE_USER, parts: [{ content: { $case: 'text' as const, value: '' } }], contextId: roomId, metadata: { action: 'room.subscribe', agentToken } },
})

/** Collects a stream's events as they arrive; `until` waits for a condition on them. */
function collect(stream: AsyncGenerator<any>) {
  const events: any[] = []
  let wake = () => {}
  const done = (async () => {
    for await (const e of stream) {
      events.push(e.payload)
      wake()
    }
    wake()
  })()
  return {
    events,
    done,
    bodies: () => events.filter((p) => p.$case === 'statusUpdate' && p.value.status.message).map((p) => p.value.status.message.parts[0].content.value),
    async until(pred: () => boolean, ms = 5000) {
      const deadline = Date.now() + ms
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out; events: ${JSON.stringify(events).slice(0, 500)}`)
        await new Promise<void>((r) => {
          wake = r
          setTimeout(r, 50)
        })
      }
    },
  }
}

test('SendStreamingMessage with room.subscribe: the Task, then each visible message within 500 ms, never another\'s DM', async (t) => {
  const srv = await startApp(t)
  const { roomId, alice, bob, carol } = await aliceBobCarol(srv)
  const client = await sdk(srv)
  assert.equal(client.protocolVersion, '1.0')
  const s = collect(client.sendMessageStream(subscribeParams(bob, roomId)))
  await s.until(() => s.events.length >= 1)
  assert.equal(s.events[0].$case, 'task')
  const task = s.events[0].value
  assert.equal(task.contextId, roomId)
  assert.equal(task.status.state, 2 /* TASK_STATE_WORKING */)

  const sentAt = Date.now()
  await send(srv, alice, 'hello bob')
  await s.until(() => s.bodies().includes('hello bob'))
  assert.ok(Date.now() - sentAt < 500, `arrived after ${Date.now() - sentAt} ms`)
  await send(srv, alice, 'for carol only', { to: 'carol' })
  await send(srv, carol, 'psst bob', { to: 'bob' })
  await s.until(() => s.bodies().includes('psst bob'))
  assert.deepEqual(s.bodies(), ['hello bob', 'psst bob'])
  const update = s.events.find((p) => p.$case === 'statusUpdate').value
  assert.equal(update.taskId, task.id)
  assert.equal(update.status.message.parts[1].content.value.from, 'alice')

  // GetTask with history, ListTasks (the caller's only), CancelTask ends the stream with a final state
  const got = await client.getTask({ id: task.id, historyLength: 10, tenant: '' })
  assert.deepEqual(got.history.map((m: any) => m.parts[0].content.value), ['hello bob', 'psst bob'])
  const mine = await client.listTasks({ tenant: '', contextId: '', status: 0, pageToken: '' } as any, { serviceParameters: { authorization: `Bearer ${bob}` } })
  assert.deepEqual(mine.tasks.map((x: any) => x.id), [task.id])
  const theirs = await client.listTasks({ tenant: '', contextId: '', status: 0, pageToken: '' } as any, { serviceParameters: { authorization: `Bearer ${carol}` } })
  assert.deepEqual(theirs.tasks, [])
  await assert.rejects(client.getTask({ id: task.id, tenant: '' }, { serviceParameters: { authorization: `Bearer ${carol}` } }), /not found/i)
  const canceled = await client.cancelTask({ id: task.id, tenant: '', metadata: undefined })
  assert.equal(canceled.status?.state, 5 /* TASK_STATE_CANCELED */)
  await s.done
  assert.equal(s.events.at(-1).value.status.state, 5)
  await assert.rejects(client.cancelTask({ id: task.id, tenant: '', metadata: undefined }), /cannot be canceled/i)
  await assert.rejects(client.getTask({ id: 'f'.repeat(32), tenant: '' }), /not found/i)
})

test('SubscribeToTask after a dropped connection resumes from Last-Event-ID: no gap, no duplicate', async (t) => {
  const srv = await startApp(t)
  const { roomId, alice, bob } = await aliceBobCarol(srv)
  const client = await sdk(srv)
  const stop = new AbortController()
  const first = collect(client.sendMessageStream(subscribeParams(bob, roomId), { signal: stop.signal }))
  await first.until(() => first.events.length >= 1)
  const taskId = first.events[0].value.id
  for (const n of [1, 2, 3]) await send(srv, alice, `m${n}`)
  await first.until(() => first.bodies().length === 3)
  const lastSeq = first.events.at(-1).value.metadata.seq
  stop.abort()
  await first.done.catch(() => {})
  for (const n of [4, 5]) await send(srv, alice, `m${n}`)

  const again = collect(client.resubscribeTask({ id: taskId, tenant: '' }, { serviceParameters: { 'last-event-id': String(lastSeq) } }))
  await again.until(() => again.bodies().length === 2)
  await send(srv, alice, 'm6')
  await again.until(() => again.bodies().includes('m6'))
  assert.equal(again.events[0].$case, 'task')
  assert.deepEqual([...first.bodies(), ...again.bodies()], ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'])
  await client.cancelTask({ id: taskId, tenant: '', metadata: undefined })
  await again.done
})

test('a kicked agent\'s subscription ends with a final state; other actions stream one reply; the card tells the truth', async (t) => {
  const srv = await startApp(t)
  const { roomId, alice, bob } = await aliceBobCarol(srv)
  const client = await sdk(srv)
  const s = collect(client.sendMessageStream(subscribeParams(bob, roomId)))
  await s.until(() => s.events.length >= 1)
  await a2a(srv, 'room.kick', { agentToken: alice, targetAgent: 'bob' })
  await s.done
  const last = s.events.at(-1)
  assert.equal(last.$case, 'statusUpdate')
  assert.equal(last.value.status.state, 5)
  assert.match(last.value.status.message.parts[0].content.value, /left the room or was removed/)

  const one = collect(client.sendMessageStream({ ...subscribeParams(alice, roomId), message: { ...subscribeParams(alice, roomId).message, metadata: { action: 'room.info' } } }))
  await one.done
  assert.deepEqual(one.events.map((e) => e.$case), ['message'])

  const card1 = await fetch(`${srv.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })
  assert.equal(card1.headers.get('vary'), 'A2A-Version')
  const body1 = await card1.json()
  assert.deepEqual(body1.capabilities, { streaming: true, pushNotifications: true })
  assert.equal(body1.protocolVersion, undefined)
  const card03 = await (await fetch(`${srv.url}/.well-known/agent-card.json`)).json()
  assert.equal(card03.protocolVersion, '0.3.0')
})

test('A2A 0.3 message/stream works too, in the 0.3 shapes', async (t) => {
  const srv = await startApp(t)
  const { roomId, alice, bob } = await aliceBobCarol(srv)
  const res = await fetch(`${srv.url}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'message/stream', params: { message: { kind: 'message', messageId: 'x', role: 'user', parts: [{ kind: 'text', text: '' }], contextId: roomId, metadata: { action: 'subscribe', agentToken: bob } } } }),
  })
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  const next = async (pred: () => boolean) => {
    while (!pred()) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`stream ended: ${text}`)
      text += value
    }
  }
  await next(() => text.includes('"kind":"task"'))
  await send(srv, alice, 'over 0.3')
  await next(() => text.includes('over 0.3'))
  const events = text.split('\n\n').filter((e) => e.includes('data:')).map((e) => JSON.parse(e.slice(e.indexOf('data:') + 5)))
  assert.equal(events[0].id, 7)
  assert.equal(events[0].result.kind, 'task')
  const upd = events.find((e) => e.result.kind === 'status-update').result
  assert.deepEqual([upd.status.state, upd.final, upd.status.message.parts[0].text], ['working', false, 'over 0.3'])
  assert.match(text, /\nid: \d+\n/)
  await reader.cancel()
})

test('push notification configs: StreamResponse bodies with the config\'s token and authentication, once each; CRUD with the SDK', async (t) => {
  const rx = await Receiver.start(t)
  const srv = await startApp(t, { pushRetryBaseMs: 20, pushRetryMaxMs: 200 })
  const { roomId, alice, bob, carol } = await aliceBobCarol(srv)
  const client = await sdk(srv)
  const s = collect(client.sendMessageStream(subscribeParams(bob, roomId)))
  await s.until(() => s.events.length >= 1)
  const taskId = s.events[0].value.id
  // the receiver fails the first POST: the retry delivers it, and nothing twice
  rx.answer = (n) => (n === 0 ? 503 : 200)
  const created = await client.createTaskPushNotificationConfig({
    tenant: '', taskId, id: 'hook', url: rx.url, token: 'tok-1', authentication: { scheme: 'Bearer', credentials: 'secret-2' },
  })
  assert.deepEqual([created.id, created.url, created.token, created.authentication?.scheme, created.authentication?.credentials], ['hook', rx.url, 'tok-1', 'Bearer', ''])
  await send(srv, alice, 'first')
  await send(srv, carol, 'not for you', { to: 'alice' })
  await send(srv, alice, 'second')
  await rx.until(() => rx.delivered.length >= 2)
  const bodies = rx.delivered.map((b) => b.statusUpdate.status.message.parts[0].text)
  assert.deepEqual(bodies, ['first', 'second'])
  assert.equal(rx.delivered[0].statusUpdate.taskId, taskId)
  assert.equal(rx.requests.at(-1)!.headers['x-a2a-notification-token'], 'tok-1')
  assert.equal(rx.requests.at(-1)!.headers.authorization, 'Bearer secret-2')

  const listed = await client.listTaskPushNotificationConfig({ tenant: '', taskId, pageSize: 0, pageToken: '' })
  assert.deepEqual(listed.configs.map((c: any) => c.id), ['hook'])
  assert.equal((await client.getTaskPushNotificationConfig({ tenant: '', taskId, id: 'hook' })).url, rx.url)
  await client.deleteTaskPushNotificationConfig({ tenant: '', taskId, id: 'hook' })
  assert.deepEqual((await client.listTaskPushNotificationConfig({ tenant: '', taskId, pageSize: 0, pageToken: '' })).configs, [])
  // refused: a private address when not allowed is covered by the endpoint rules; here, a foreign Bearer and bad ids
  await assert.rejects(client.getTaskPushNotificationConfig({ tenant: '', taskId, id: 'hook' }), /not found/i)
  await assert.rejects(client.createTaskPushNotificationConfig({ tenant: '', taskId, id: 'x', url: rx.url, token: '', authentication: undefined }, { serviceParameters: { authorization: `Bearer ${carol}` } }), /not found/i)
  await assert.rejects(client.createTaskPushNotificationConfig({ tenant: '', taskId, id: 'bad id!', url: rx.url, token: '', authentication: undefined }), /id must be/)
  await assert.rejects(client.createTaskPushNotificationConfig({ tenant: '', taskId, id: 'x', url: 'ftp://nope', token: '', authentication: undefined }), /url/)
  await client.cancelTask({ id: taskId, tenant: '', metadata: undefined })
  await s.done
})

test('a push config delivers each message exactly once across two instances', { skip: !DATABASE_URL && 'needs PostgreSQL (set DATABASE_URL): instances share one database' }, async (t) => {
  const rx = await Receiver.start(t)
  const a = await startApp(t, { pushRetryBaseMs: 20, pushRetryMaxMs: 200 })
  const b = await startApp(t, { pushRetryBaseMs: 20, pushRetryMaxMs: 200 })
  const { roomId, alice, bob } = await aliceBobCarol(a)
  const client = await sdk(a)
  const created = await a2a(a, 'room.subscribe', { agentToken: bob }, { contextId: roomId })
  const taskId = created.data.taskId
  await client.createTaskPushNotificationConfig({ tenant: '', taskId, id: 'hook', url: rx.url, token: '', authentication: undefined })
  for (let i = 0; i < 20; i++) await send(i % 2 ? a : b, alice, `m${i}`)
  await rx.until(() => rx.delivered.length >= 20)
  // deliveries to one config go in seq order: once a later message has arrived, a duplicate of an earlier one would have too
  await send(b, alice, 'last')
  await rx.until(() => rx.delivered.some((d) => d.statusUpdate.status.message.parts[0].text === 'last'))
  assert.deepEqual(rx.delivered.map((d) => d.statusUpdate.status.message.parts[0].text), [...Array.from({ length: 20 }, (_, i) => `m${i}`), 'last'])
})

test('hostile task calls: header injection in a push config, a made-up token for ListTasks, a made-up task id, a foreign Bearer — refused, nothing stored', async (t) => {
  const srv = await startApp(t)
  const { roomId, bob, carol } = await aliceBobCarol(srv)
  const client = await sdk(srv)
  const taskId = (await a2a(srv, 'room.subscribe', { agentToken: bob }, { contextId: roomId })).data.taskId
  await assert.rejects(
    client.createTaskPushNotificationConfig({ tenant: '', taskId, id: 'x', url: 'https://example.com/hook', token: 'a\r\nX-Evil: 1', authentication: undefined }),
    /token must be printable ASCII/,
  )
  await assert.rejects(
    client.createTaskPushNotificationConfig({ tenant: '', taskId, id: 'y', url: 'https://example.com/hook', token: '', authentication: { scheme: 'Bearer\r\nX', credentials: 'c' } }),
    /authentication\.scheme/,
  )
  assert.deepEqual((await client.listTaskPushNotificationConfig({ tenant: '', taskId, pageSize: 0, pageToken: '' })).configs, [])
  await assert.rejects(client.listTasks({ tenant: '', contextId: '', status: 0, pageToken: '' } as any, { serviceParameters: { authorization: 'Bearer 00000000-0000-4000-8000-000000000000' } }), /Invalid agentToken/)
  await assert.rejects(client.listTasks({ tenant: '', contextId: '', status: 0, pageToken: '' } as any), /needs your agentToken/)
  await assert.rejects(client.resubscribeTask({ id: '../../etc/passwd', tenant: '' }).next(), /not found/i)
  await assert.rejects(client.cancelTask({ id: taskId, tenant: '', metadata: undefined }, { serviceParameters: { authorization: `Bearer ${carol}` } }), /not found/i)
  assert.equal((await client.getTask({ id: taskId, tenant: '' })).status?.state, 2 /* still working */)
})
