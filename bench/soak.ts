/**
 * Soak: SOAK_CLIENTS SSE subscribers across SOAK_ROOMS rooms, SOAK_RATE messages/s for SOAK_SECONDS, with MCP
 * sessions and git ref fetches mixed in. Reports p50/p99 latencies, RSS over time and per-subscriber loss.
 * Defaults are the issue's (1,000 clients, 50 rooms, 500/s, 5 minutes); `npm run bench soak`.
 */
import http from 'node:http'
import { percentile, startServer } from './server.ts'

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt)

async function a2a(url: string, action: string, params: Record<string, unknown>, opts: { contextId?: string; text?: string } = {}) {
  const res = await fetch(`${url}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { role: 'user', parts: [{ text: opts.text ?? '' }], ...(opts.contextId ? { contextId: opts.contextId } : {}), metadata: { action, ...params } } } }),
  })
  const body = (await res.json()) as any
  const msg = body.result?.message ?? body.result
  if (!msg || String(msg.parts[0].text).startsWith('Error')) throw new Error(`${action}: ${JSON.stringify(body).slice(0, 200)}`)
  return msg.parts[1].data as Record<string, any>
}

/** A subscriber: counts the seqs it receives for its room. */
function subscribe(url: string, roomId: string, token: string) {
  const seen = new Set<number>()
  let buf = ''
  const state = { seen, closed: false, req: null as http.ClientRequest | null }
  return new Promise<typeof state>((resolve, reject) => {
    state.req = http.get(`${url}/api/messages/${roomId}/sse?agentToken=${token}`, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE ${res.statusCode}`))
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buf += chunk
        let i
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          const id = /^id: ?(\d+)$/m.exec(block)
          if (id) seen.add(Number(id[1]))
        }
      })
      res.on('close', () => (state.closed = true))
      resolve(state)
    })
    state.req.on('error', reject)
  })
}

export async function run(opts: { databaseUrl?: string } = {}) {
  const SECONDS = num('SOAK_SECONDS', 300)
  const CLIENTS = num('SOAK_CLIENTS', 1000)
  const ROOMS = num('SOAK_ROOMS', 50)
  const RATE = num('SOAK_RATE', 500)
  const srv = await startServer({ databaseUrl: opts.databaseUrl, env: { MAX_ROOMS_PER_IP_PER_HOUR: '0' } })
  try {
    const rooms: { id: string; name: string; token: string; sent: number[] }[] = []
    for (let r = 0; r < ROOMS; r++) {
      const d = await a2a(srv.url, 'room.create', { agentName: 'sender', name: `soak-${r}-${Date.now().toString(36)}` })
      rooms.push({ id: d.roomId, name: d.name, token: d.agentToken, sent: [] })
    }
    const subs: { room: number; state: Awaited<ReturnType<typeof subscribe>> }[] = []
    for (let c = 0; c < CLIENTS; c += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, CLIENTS - c) }, async (_, k) => {
          const room = (c + k) % ROOMS
          const d = await a2a(srv.url, 'room.join', { agentName: `sub${c + k}` }, { contextId: rooms[room].id })
          subs.push({ room, state: await subscribe(srv.url, rooms[room].id, d.agentToken) })
        }),
      )
    }
    console.error(`soak: ${subs.length} subscribers in ${ROOMS} rooms; ${RATE} msg/s for ${SECONDS} s`)

    const sendLat: number[] = []
    const mcpLat: number[] = []
    const gitLat: number[] = []
    const rss: { t: number; mb: number }[] = []
    let errors = 0
    let skipped = 0
    const reasons = new Map<string, number>()
    const failed = (e: unknown) => {
      errors++
      const err = e as Error & { cause?: { code?: string; message?: string } }
      const why = `${String(err?.message ?? e).slice(0, 120)}${err?.cause ? ` (${err.cause.code ?? err.cause.message})` : ""}`
      reasons.set(why, (reasons.get(why) ?? 0) + 1)
    }
    let inflight = 0
    const start = Date.now()
    const end = start + SECONDS * 1000
    let next = 0
    const tickMs = 20
    const perTick = (RATE * tickMs) / 1000
    let credit = 0
    await new Promise<void>((done) => {
      const timer = setInterval(() => {
        if (Date.now() >= end) {
          clearInterval(timer)
          done()
          return
        }
        credit += perTick
        while (credit >= 1) {
          credit--
          if (inflight > 2000) {
            skipped++ // the server is not keeping up: count it, do not pile up
            continue
          }
          const room = rooms[next++ % ROOMS]
          const t0 = performance.now()
          inflight++
          a2a(srv.url, 'message.send', { agentToken: room.token }, { text: `m${next}` })
            .then((d) => {
              sendLat.push(performance.now() - t0)
              room.sent.push(d.seq)
            })
            .catch(failed)
            .finally(() => inflight--)
        }
      }, tickMs)
      const side = setInterval(async () => {
        if (Date.now() >= end) return clearInterval(side)
        rss.push({ t: Math.round((Date.now() - start) / 1000), mb: Math.round(srv.rssMb()) })
        try {
          const t0 = performance.now()
          const init = await fetch(`${srv.url}/mcp`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'soak', version: '1' } } }),
          })
          await init.text()
          const sid = init.headers.get('mcp-session-id')!
          const callRes = await fetch(`${srv.url}/mcp`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid },
            body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'listRooms', arguments: { limit: 5 } } }),
          })
          await callRes.text()
          await fetch(`${srv.url}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': sid } }).then((r) => r.text())
          mcpLat.push(performance.now() - t0)
          const g0 = performance.now()
          const g = await fetch(`${srv.url}/rooms/${rooms[0].name}/info/refs?service=git-upload-pack`)
          await g.arrayBuffer()
          if (g.status !== 200) failed(new Error(`git info/refs: HTTP ${g.status}`))
          gitLat.push(performance.now() - g0)
        } catch (e) {
          failed(e)
        }
      }, 1000)
    })
    // Let in-flight sends finish and fan-out drain (bounded).
    for (let i = 0; i < 200 && inflight > 0; i++) await new Promise((r) => setTimeout(r, 50))
    const deadline = Date.now() + 15_000
    const missing = () => subs.reduce((n, s) => n + rooms[s.room].sent.filter((q) => !s.state.seen.has(q)).length, 0)
    while (missing() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    const lossBySub = subs.map((s) => rooms[s.room].sent.filter((q) => !s.state.seen.has(q)).length)
    for (const s of subs) s.state.req?.destroy()

    const sorted = (a: number[]) => [...a].sort((x, y) => x - y)
    const sl = sorted(sendLat)
    const warm = rss.filter((r) => r.t >= SECONDS * 0.2)
    const total = rooms.reduce((n, r) => n + r.sent.length, 0)
    return {
      seconds: SECONDS,
      subscribers: subs.length,
      rooms: ROOMS,
      'target msg/s': RATE,
      'achieved msg/s': Math.round(total / SECONDS),
      'send p50 ms': +percentile(sl, 50).toFixed(1),
      'send p99 ms': +percentile(sl, 99).toFixed(1),
      'mcp session p99 ms': +percentile(sorted(mcpLat), 99).toFixed(1),
      'git info/refs p99 ms': +percentile(sorted(gitLat), 99).toFixed(1),
      'events delivered': subs.reduce((n, s) => n + s.state.seen.size, 0),
      'subscribers with loss': lossBySub.filter((n) => n > 0).length,
      'max loss per subscriber': Math.max(0, ...lossBySub),
      'disconnected subscribers': subs.filter((s) => s.state.closed).length,
      'request errors': errors,
      'most frequent errors': [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([why, n]) => `${n}× ${why}`).join(' | ') || '-',
      'sends skipped (2,000 already in flight)': skipped,
      'RSS after warm-up MB': warm[0]?.mb ?? NaN,
      'RSS end MB': rss.at(-1)?.mb ?? NaN,
      'RSS max MB': Math.max(...rss.map((r) => r.mb)),
      'RSS samples (s:MB)': rss.filter((_, i) => i % Math.max(1, Math.floor(rss.length / 10)) === 0).map((r) => `${r.t}:${r.mb}`).join(' '),
    }
  } finally {
    await srv.stop()
  }
}

if (process.argv[1]?.endsWith('soak.ts')) console.log(await run({ databaseUrl: process.env.DATABASE_URL || undefined }))
