import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppOptions } from '../app.ts'
import { loadConfig, type Config } from '../lib/config.ts'
import { migrate } from '../db/migrate.ts'
import { openDatabase } from '../db/sql.ts'

/** The PostgreSQL the suite runs against, if any (.ci/run sets DATABASE_URL for the second pass). */
export const DATABASE_URL = process.env.DATABASE_URL || undefined
export const BACKEND = DATABASE_URL ? 'postgres' : 'pglite'

export function tempDir(t: TestContext | null, prefix = 'convene-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  t?.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const MIGRATIONS = new URL('../db/migrations/', import.meta.url)

/**
 * A migrated embedded database to copy: creating a PGlite cluster takes seconds, copying one ~0.2 s.
 * Cached across test processes, keyed by the migrations' content.
 */
export async function pgliteTemplate(): Promise<string> {
  const hash = createHash('sha256')
  for (const f of readdirSync(MIGRATIONS).sort()) hash.update(f).update(readFileSync(new URL(f, MIGRATIONS)))
  const dir = path.join(tmpdir(), `convene-pglite-template-${hash.digest('hex').slice(0, 16)}`)
  if (existsSync(dir)) return dir
  const building = mkdtempSync(`${dir}.building-`)
  const db = await openDatabase({ dataDir: building })
  await migrate(db)
  await db.close()
  try {
    renameSync(building, dir)
  } catch {
    rmSync(building, { recursive: true, force: true }) // another process won the race
  }
  return dir
}

/** A fresh data dir; on the embedded store it starts as a copy of the migrated template. */
export async function freshDataDir(t: TestContext | null): Promise<string> {
  const dir = tempDir(t)
  if (!DATABASE_URL) cpSync(await pgliteTemplate(), dir, { recursive: true })
  return dir
}

/** A config for one test app: its own data dir; the suite's database when running on PostgreSQL. */
export async function testConfig(t: TestContext | null, overrides: Partial<Config> = {}): Promise<Config> {
  return loadConfig(
    {},
    {
      dataDir: await freshDataDir(t),
      databaseUrl: DATABASE_URL,
      logLevel: 'silent',
      allowPrivateEndpoints: true,
      rateLimitMax: 0, // the suite sends fast; the limits tests turn these on
      maxRoomsPerIpPerHour: 0,
      maxEventLoopDelayMs: 0, // a loaded CI machine must not turn a test's first request into a 503
      ...overrides,
    },
  )
}

export interface TestServer {
  app: FastifyInstance
  url: string
  config: Config
}

/** Builds the app and (unless `listen: false`) listens on a random loopback port; closed after the test. */
export async function startApp(
  t: TestContext | null,
  overrides: Partial<Config> = {},
  opts: AppOptions & { listen?: boolean; config?: Config } = {},
): Promise<TestServer> {
  const config = opts.config ?? (await testConfig(t, overrides))
  const app = await buildApp(config, { logger: false, ...opts })
  t?.after(() => app.close())
  let url = ''
  if (opts.listen !== false) {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const addr = app.server.address()
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
  } else {
    await app.ready()
  }
  return { app, url, config }
}

/** A unique room name, so tests sharing one PostgreSQL never collide. */
export const uniq = (prefix = 'room'): string => `${prefix}-${Math.random().toString(36).slice(2, 10)}`

export interface A2AReply {
  text: string
  data: Record<string, any>
  contextId?: string
  raw: any
}

/** Sends one A2A action (metadata params, optional contextId / text part) through the real HTTP endpoint or inject. */
export async function a2a(
  target: TestServer,
  action: string | undefined,
  params: Record<string, unknown> = {},
  opts: { contextId?: string; text?: string; headers?: Record<string, string> } = {},
): Promise<A2AReply> {
  const body = {
    jsonrpc: '2.0',
    id: Math.floor(Math.random() * 1e9),
    method: 'SendMessage',
    params: {
      message: {
        role: 'user',
        messageId: crypto.randomUUID(),
        parts: [{ text: opts.text ?? '' }],
        ...(opts.contextId ? { contextId: opts.contextId } : {}),
        metadata: { ...(action ? { action } : {}), ...params },
      },
    },
  }
  const raw = await rpc(target, body, opts.headers)
  if (raw.error) throw new Error(`JSON-RPC error ${raw.error.code}: ${raw.error.message}`)
  const result = raw.result.message ?? raw.result
  const text = result.parts.find((p: any) => typeof p.text === 'string')?.text
  const data = result.parts.find((p: any) => p.data)?.data
  return { text, data, contextId: result.contextId, raw }
}

/** Posts a raw JSON-RPC body (object or string) to /a2a and returns the parsed reply. */
export async function rpc(target: TestServer, body: unknown, headers: Record<string, string> = {}): Promise<any> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body)
  if (target.url) {
    const res = await fetch(`${target.url}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
    })
    return res.status === 204 ? null : res.json()
  }
  const res = await target.app.inject({
    method: 'POST',
    url: '/a2a',
    headers: { 'content-type': 'application/json', ...headers },
    payload,
  })
  return res.statusCode === 204 ? null : res.json()
}

/** Creates a room and returns its id and the creator's token. */
export async function createRoom(target: TestServer, params: Record<string, unknown> = {}) {
  const name = (params.name as string) ?? uniq()
  const r = await a2a(target, 'room.create', { agentName: 'alice', ...params, name })
  if (r.text.startsWith('Error')) throw new Error(r.text)
  return { roomId: r.data.roomId as string, token: r.data.agentToken as string, name }
}

export async function joinRoom(target: TestServer, roomId: string, agentName: string, params: Record<string, unknown> = {}) {
  const r = await a2a(target, 'room.join', { agentName, ...params }, { contextId: roomId })
  if (r.text.startsWith('Error')) throw new Error(r.text)
  return r.data.agentToken as string
}

/** alice creates a room; bob and carol join it. Their agentTokens, and the room's id and name. */
export async function aliceBobCarol(target: TestServer) {
  const { roomId, token: alice, name } = await createRoom(target)
  const bob = await joinRoom(target, roomId, 'bob')
  const carol = await joinRoom(target, roomId, 'carol')
  return { roomId, name, alice, bob, carol }
}
