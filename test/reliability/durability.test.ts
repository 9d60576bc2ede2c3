// kill -9 during a send storm: every acknowledged message survives, seqs stay gap-free and unique.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BACKEND, DATABASE_URL, freshDataDir } from '../helpers.ts'
import { allMessages, call, spawnServer, type Proc } from '../spawn.ts'

/** Small seeded PRNG (mulberry32): the kill moments are reproducible. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const SENDERS = 8
const ROUNDS = 2

test(`kill -9 during a send storm loses no acknowledged message (${BACKEND})`, { timeout: 120_000 }, async (t) => {
  const rand = prng(8_2024)
  const env = { DATA_DIR: await freshDataDir(t), DATABASE_URL: DATABASE_URL ?? '' }
  let srv: Proc = await spawnServer(env)
  t.after(() => srv.kill9())

  const created = await call(srv.url, 'room.create', { agentName: 'alice', name: `storm-${Date.now().toString(36)}` })
  const roomId = created.data.roomId as string
  const tokens = [created.data.agentToken as string]
  for (let i = 1; i < SENDERS; i++) tokens.push((await call(srv.url, 'room.join', { agentName: `s${i}` }, { contextId: roomId })).data.agentToken)
  const acked = new Map<string, number>() // id → seq

  for (let round = 0; round < ROUNDS; round++) {
    const killAfter = 20 + Math.floor(rand() * 150)
    let ackedThisRound = 0
    let killed: Promise<void> | null = null
    const url = srv.url
    const sender = async (token: string, n: number) => {
      for (let i = 0; i < 5000; i++) {
        let r
        try {
          r = await call(url, 'message.send', { agentToken: token }, { text: `r${round} s${n} #${i}` })
        } catch {
          return // the server is gone: this send was never acknowledged
        }
        assert.equal(r.text, 'Message sent', r.text)
        acked.set(r.data.id, r.data.seq)
        if (++ackedThisRound === killAfter) killed = srv.kill9()
      }
    }
    await Promise.all(tokens.map((tk, n) => sender(tk, n)))
    assert.ok(killed, 'the storm reached the kill point')
    await killed

    srv = await spawnServer(env)
    const { total, messages } = await allMessages(srv.url, tokens[0], roomId)
    const seqs = messages.map((m) => m.seq)
    assert.equal(messages.length, total)
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'seqs 1..n, no gap, no duplicate')
    assert.equal(new Set(messages.map((m) => m.id)).size, messages.length, 'no duplicate ids')
    const stored = new Map(messages.map((m) => [m.id, m.seq]))
    for (const [id, seq] of acked) assert.equal(stored.get(id), seq, `acknowledged message ${id} (seq ${seq}) is stored with its seq`)
    const next = await call(srv.url, 'message.send', { agentToken: tokens[1] }, { text: 'after restart' })
    assert.equal(next.data.seq, seqs.length + 1, 'seq continues after the restart')
    acked.set(next.data.id, next.data.seq)
  }
  await srv.stop()
})
