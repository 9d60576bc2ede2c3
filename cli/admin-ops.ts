// What `convene admin` does on the server's store and repositories, configured as the server is (DATABASE_URL,
// DATA_DIR, REPOS_DIR…). Loaded only by admin commands (it brings in the database drivers). The embedded store may
// be open in one process only: opening it is refused while it looks open (a running server).
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import path from 'node:path'
import { adminQueries, type AdminRoom } from '../db/admin.ts'
import type { Database } from '../db/database.ts'
import { openDatabase } from '../db/sql.ts'
import { sqlStore } from '../db/store.ts'
import { ConfigError, loadConfig, type Config } from '../lib/config.ts'
import { writeBundle } from '../lib/git/bundle.ts'
import { pruneRepository } from '../lib/git/prune.ts'
import { listRefs, type Ref } from '../lib/git/refs.ts'
import { deleteRepo, repoPath } from '../lib/git/repo.ts'
import { isUuid } from '../lib/ids.ts'
import { normalizeRoomName } from '../lib/rooms/names.ts'
import { KEEP_ENDED_MS } from '../lib/rooms/wait-tasks.ts'
import { toWire } from '../lib/rooms/wire.ts'
import type { AgentRecord, LeaseRecord, RoomRecord, Store } from '../lib/store.ts'
import { AdminError } from './admin-error.ts'

interface Opened {
  config: Config
  db: Database
  store: Store
}

async function openStore(env: NodeJS.ProcessEnv, force: boolean): Promise<Opened> {
  let config: Config
  try {
    config = loadConfig(env)
  } catch (e) {
    if (e instanceof ConfigError) throw new AdminError(e.message)
    throw e
  }
  if (!config.databaseUrl) {
    const dir = path.join(config.dataDir, 'pglite')
    if (!existsSync(path.join(dir, 'PG_VERSION'))) {
      throw new AdminError(`no embedded store in DATA_DIR=${config.dataDir} (set DATA_DIR, or DATABASE_URL for PostgreSQL)`)
    }
    // PGlite keeps this file while open and removes it on close.
    if (existsSync(path.join(dir, 'postmaster.pid')) && !force) {
      throw new AdminError(
        `the embedded store in ${config.dataDir} is open: stop the server first (one process at a time); if none runs, it was not shut down cleanly: add --force`,
      )
    }
  }
  let db: Database
  try {
    db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 })
  } catch (e) {
    throw new AdminError(`cannot open the store: ${(e as Error).message}`)
  }
  try {
    const pending = await adminQueries(db).pendingMigrations()
    if (pending === null) throw new AdminError('the database has no Convene schema: start the server once to create it')
    if (pending.length) throw new AdminError(`the database schema is behind this version (missing ${pending.join(', ')}): start the server once to migrate it`)
  } catch (e) {
    await db.close()
    if (e instanceof AdminError) throw e
    throw new AdminError(`cannot read the store: ${(e as Error).message}`)
  }
  return { config, db, store: sqlStore(db) }
}

async function withStore<T>(env: NodeJS.ProcessEnv, force: boolean, fn: (o: Opened) => Promise<T>): Promise<T> {
  const o = await openStore(env, force)
  try {
    return await fn(o)
  } finally {
    await o.db.close()
  }
}

/** A room by UUID or name (several rooms may share a name: then the UUID is needed). */
async function findRoom(store: Store, ref: string): Promise<RoomRecord> {
  if (isUuid(ref)) {
    const r = await store.roomById(ref.toLowerCase())
    if (r) return r
    throw new AdminError(`no room ${ref}`)
  }
  const rooms = await store.roomsByName(normalizeRoomName(ref.split(':')[0]))
  if (rooms.length === 1) return rooms[0]
  if (rooms.length === 0) throw new AdminError(`no room named ${ref}`)
  throw new AdminError(`${rooms.length} rooms are named ${ref} (${rooms.map((r) => r.id).join(', ')}): give the UUID`)
}

/** Bytes under a directory. */
function diskBytes(dir: string): number {
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    n += e.isDirectory() ? diskBytes(p) : e.isFile() ? statSync(p).size : 0
  }
  return n
}

/** A room as the admin commands show and export it (never its password hash). */
export function roomJson(room: RoomRecord) {
  return {
    id: room.id,
    name: room.name,
    passwordProtected: room.passwordHash !== null,
    type: room.type,
    description: room.description,
    createdAt: room.createdAt.toISOString(),
    lastActivity: room.lastActivity.toISOString(),
    lastSeq: room.lastSeq,
  }
}

export function rooms(env: NodeJS.ProcessEnv, force: boolean): Promise<AdminRoom[]> {
  return withStore(env, force, ({ db }) => adminQueries(db).rooms())
}

export interface RoomDetails {
  room: RoomRecord
  agents: AgentRecord[]
  leases: LeaseRecord[]
  repository: { path: string; bytes: number; refs: Ref[] } | null
}

export function room(env: NodeJS.ProcessEnv, force: boolean, ref: string): Promise<RoomDetails> {
  return withStore(env, force, async ({ store, config }) => {
    const room = await findRoom(store, ref)
    const dir = repoPath(config.reposDir, room.id)
    return {
      room,
      agents: await store.agents(room.id),
      leases: await store.activeLeases(room.id, new Date()),
      repository: existsSync(path.join(dir, 'HEAD')) ? { path: dir, bytes: diskBytes(dir), refs: listRefs(dir) } : null,
    }
  })
}

export interface GcResult {
  expiredRooms: string[]
  orphanRepositories: number
  objectsPruned: number
  packsRewritten: number
  waitTasksDeleted: number
}

/** What the server does in the background, at once: idle rooms, orphaned repositories, unreachable objects, old wait tasks. */
export function gc(env: NodeJS.ProcessEnv, force: boolean): Promise<GcResult> {
  return withStore(env, force, async ({ store, config, db }) => {
    const expiredRooms = await store.deleteIdleRooms(new Date(Date.now() - config.roomTtlDays * 86_400_000))
    for (const id of expiredRooms) deleteRepo(repoPath(config.reposDir, id))
    const r: GcResult = { expiredRooms, orphanRepositories: 0, objectsPruned: 0, packsRewritten: 0, waitTasksDeleted: 0 }
    for (const e of existsSync(config.reposDir) ? readdirSync(config.reposDir) : []) {
      const id = /^(.{36})\.git$/.exec(e)?.[1]
      if (!id || !isUuid(id)) continue
      const dir = path.join(config.reposDir, e)
      // A room's row exists before its repository does: a repository without one is left over.
      if (!(await store.roomById(id))) {
        deleteRepo(dir)
        r.orphanRepositories++
        continue
      }
      if (!existsSync(path.join(dir, 'HEAD'))) continue
      const res = await pruneRepository(dir, { graceMs: config.gitPruneGraceSeconds * 1000, withLock: (fn) => store.withLock(`git:${id}`, fn) })
      r.objectsPruned += res.objectsPruned
      r.packsRewritten += res.packsRemoved
    }
    r.waitTasksDeleted = await store.deleteEndedWaitTasks(new Date(Date.now() - KEEP_ENDED_MS))
    await db.maintain?.()
    return r
  })
}

export interface ExportResult {
  out: string
  messages: number
  bundle: string | null
  refs: number
  objects: number
}

/** Writes `out`/messages.jsonl (every message, DMs included, oldest first), repository.bundle and room.json. */
export function exportRoom(env: NodeJS.ProcessEnv, force: boolean, ref: string, outDir: string | undefined): Promise<ExportResult> {
  return withStore(env, force, async ({ store, config }) => {
    const room = await findRoom(store, ref)
    const out = path.resolve(outDir ?? `convene-export-${room.name}-${room.id.slice(0, 8)}`)
    mkdirSync(out, { recursive: true, mode: 0o700 })
    const file = createWriteStream(path.join(out, 'messages.jsonl'), { mode: 0o600 })
    let messages = 0
    try {
      for (let after = 0; ; ) {
        const page = await store.readRoom(room.id, after, 1000)
        if (page.length === 0) break
        for (const m of page) if (!file.write(`${JSON.stringify(toWire(m))}\n`)) await once(file, 'drain')
        messages += page.length
        after = page[page.length - 1].seq
      }
    } finally {
      file.end()
      await once(file, 'close')
    }
    const dir = repoPath(config.reposDir, room.id)
    const bundleFile = path.join(out, 'repository.bundle')
    const bundle = existsSync(path.join(dir, 'HEAD')) ? await store.withLock(`git:${room.id}`, () => writeBundle(dir, bundleFile)) : null
    const agents = await store.agents(room.id)
    const details = {
      room: roomJson(room),
      agents: agents.map((a) => ({ name: a.name, role: a.role, kind: a.kind, joinedAt: a.joinedAt.toISOString() })),
      messages,
      repository: bundle ? { bundle: 'repository.bundle', head: bundle.head, refs: bundle.refs, objects: bundle.objects } : null,
      exportedAt: new Date().toISOString(),
    }
    writeFileSync(path.join(out, 'room.json'), `${JSON.stringify(details, null, 2)}\n`, { mode: 0o600 })
    return { out, messages, bundle: bundle ? bundleFile : null, refs: bundle?.refs.length ?? 0, objects: bundle?.objects ?? 0 }
  })
}
