// Path leases: agents claim repository paths (shared or exclusive) for a while; pushes touching another's are refused.
import { errors } from '../errors.ts'
import type { LeaseRecord } from '../store.ts'
import { notice, type RoomContext } from './context.ts'
import { normalizePattern, patternRegExp, patternsOverlap } from './lease-paths.ts'

export const MAX_LEASE_PATHS = 100
export const MAX_LEASE_SECONDS = 86_400
const DEFAULT_LEASE_SECONDS = 3600
const EXPIRE_BATCH = 500

/** A lease as every surface shows it: one agent's patterns sharing a mode, reason and expiry. */
export interface Lease {
  agent: string
  paths: string[]
  exclusive: boolean
  reason: string
  expiresAt: string
}

export const utcMinute = (d: Date): string => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`

/** Rows grouped into leases: by agent, mode, reason and expiry. */
export function grouped(rows: LeaseRecord[]): Lease[] {
  const out = new Map<string, Lease>()
  for (const r of rows) {
    const key = JSON.stringify([r.agent, r.exclusive, r.reason, r.expiresAt.getTime()])
    const lease = out.get(key) ?? { agent: r.agent, paths: [], exclusive: r.exclusive, reason: r.reason, expiresAt: r.expiresAt.toISOString() }
    lease.paths.push(r.path)
    out.set(key, lease)
  }
  return [...out.values()]
}

/** The patterns of `paths`, deduplicated; the first bad one is named. */
function patterns(paths: unknown, required: boolean): string[] | null {
  if (paths === undefined && !required) return null
  if (!Array.isArray(paths) || paths.length === 0) throw errors.invalid('paths', 'must be a non-empty list of paths or globs relative to the repository root')
  if (paths.length > MAX_LEASE_PATHS) throw errors.invalid('paths', `must list at most ${MAX_LEASE_PATHS} patterns (got ${paths.length})`)
  const out = new Set<string>()
  for (const raw of paths) {
    const n = normalizePattern(String(raw))
    if ('problem' in n) throw errors.invalid('paths:', `"${String(raw).slice(0, 60)}" ${n.problem}`)
    out.add(n.pattern)
  }
  return [...out]
}

function seconds(ttl: number | undefined): number {
  const s = ttl ?? DEFAULT_LEASE_SECONDS
  if (!Number.isInteger(s) || s < 1 || s > MAX_LEASE_SECONDS) throw errors.invalid('ttl', `must be a whole number of seconds from 1 to ${MAX_LEASE_SECONDS}`)
  return s
}

/** Why a push may not change `path`, given the leases it must respect; null when it may. */
export type PathRefusal = (path: string) => string | null

export class Leases {
  #sweep: NodeJS.Timeout | null = null
  #sweeping: Promise<void> = Promise.resolve()

  constructor(private readonly ctx: RoomContext) {}

  async acquire(p: { agentToken: string; paths: string[]; exclusive?: boolean; ttl?: number; reason?: string; roomId?: string }) {
    const wanted = patterns(p.paths, true)!
    const ttl = seconds(p.ttl)
    const exclusive = p.exclusive ?? true
    const reason = (p.reason ?? '').trim()
    const { agent, room } = await this.ctx.authenticate(p.agentToken, p.roomId)
    const { store, clock } = this.ctx
    let expiresAt = new Date(0)
    const posted = await store.withLock(`leases:${room.id}`, async () => {
      const now = clock()
      const active = await store.activeLeases(room.id, now)
      // every push reads the room's leases: what one agent may hold is bounded
      const held = new Set(active.filter((l) => l.agentId === agent.id).map((l) => l.path))
      const total = new Set([...held, ...wanted]).size
      if (total > MAX_LEASE_PATHS) throw errors.invalid('paths', `would make ${total} leased patterns; an agent may hold at most ${MAX_LEASE_PATHS} (release some first)`)
      for (const other of active) {
        if (other.agentId === agent.id || !(exclusive || other.exclusive)) continue
        const clash = wanted.find((w) => patternsOverlap(w, other.path))
        if (clash !== undefined) throw errors.leaseConflict(clash, other.agent, other.path, other.exclusive, utcMinute(other.expiresAt))
      }
      expiresAt = new Date(now.getTime() + ttl * 1000)
      const body = `${agent.name} leased ${wanted.join(', ')} (${exclusive ? 'exclusive' : 'shared'}) until ${utcMinute(expiresAt)}${reason ? `: ${reason}` : ''}`
      return store.putLeases(room.id, agent.id, wanted.map((path) => ({ path, exclusive, reason, expiresAt })), notice(body), now)
    })
    await this.ctx.publish(room.id, posted)
    const lease: Lease = { agent: agent.name, paths: wanted.sort(), exclusive, reason, expiresAt: expiresAt.toISOString() }
    return { text: `Leased ${wanted.length} pattern(s) until ${utcMinute(expiresAt)}`, roomId: room.id, data: { lease } }
  }

  async renew(p: { agentToken: string; paths?: string[]; ttl?: number; roomId?: string }) {
    const only = patterns(p.paths, false)
    const ttl = seconds(p.ttl)
    const { agent, room } = await this.ctx.authenticate(p.agentToken, p.roomId)
    const now = this.ctx.clock()
    const expiresAt = new Date(now.getTime() + ttl * 1000)
    const renewed = await this.ctx.store.renewLeases(room.id, agent.id, only, expiresAt, now)
    if (renewed.length === 0) throw errors.noLeases(only ? `on ${only.join(', ')}` : 'in this room')
    return { text: `Renewed ${renewed.length} pattern(s) until ${utcMinute(expiresAt)}`, roomId: room.id, data: { paths: renewed, expiresAt: expiresAt.toISOString() } }
  }

  async release(p: { agentToken: string; paths?: string[]; roomId?: string }) {
    const only = patterns(p.paths, false)
    const { agent, room } = await this.ctx.authenticate(p.agentToken, p.roomId)
    const { released, posted } = await this.ctx.store.withLock(`leases:${room.id}`, () =>
      this.ctx.store.releaseLeases(room.id, agent.id, only, (paths) => notice(`${agent.name} released ${paths.join(', ')}`), this.ctx.clock()),
    )
    if (posted) await this.ctx.publish(room.id, posted)
    const text = released.length ? `Released ${released.length} pattern(s)` : 'You held no lease on these paths'
    return { text, roomId: room.id, data: { released } }
  }

  async list(p: { agentToken: string; roomId?: string }) {
    const { room } = await this.ctx.authenticate(p.agentToken, p.roomId)
    const leases = grouped(await this.ctx.store.activeLeases(room.id, this.ctx.clock()))
    return { text: leases.length ? `${leases.length} active lease(s)` : 'No active leases', roomId: room.id, data: { leases } }
  }

  /** The public view of a room's leases (the web page). */
  async ofRoom(roomId: string): Promise<Lease[]> {
    return grouped(await this.ctx.store.activeLeases(roomId, this.ctx.clock()))
  }

  /**
   * What a push must respect: another agent's exclusive lease (any lease for an anonymous push), unless an admin
   * overrides; `overridden` collects what an override passed over. Null when no lease applies.
   */
  async pushRules(roomId: string, pusher: { name: string; admin: boolean } | null, override: boolean) {
    const leases = (await this.ctx.store.activeLeases(roomId, this.ctx.clock())).filter((l) => (pusher ? l.exclusive && l.agent !== pusher.name : true))
    if (leases.length === 0) return null
    const compiled = leases.map((l) => ({ lease: l, re: patternRegExp(l.path) }))
    const overridden = new Map<string, LeaseRecord>()
    const refusal: PathRefusal = (path) => {
      const hit = compiled.find((c) => c.re.test(path))
      if (!hit) return null
      const l = hit.lease
      if (override && pusher?.admin) {
        overridden.set(`${l.agent} ${l.path}`, l)
        return null
      }
      const how = pusher ? '' : ' (anonymous pushes may not touch leased paths)'
      const asked = override ? '; lease-override needs an admin' : ''
      return `${path} is leased by ${l.agent} (${l.exclusive ? 'exclusive' : 'shared'} on ${l.path}, until ${utcMinute(l.expiresAt)})${how}${asked}`
    }
    return { refusal, overridden: () => [...overridden.values()] }
  }

  /** Expired leases are dropped and announced every `ms` (and at `sweepNow`). */
  start(ms: number): void {
    this.#sweep = setInterval(() => void this.sweepNow().catch(() => {}), ms)
    this.#sweep.unref()
  }

  async sweepNow(): Promise<void> {
    const run = this.#sweeping.then(async () => {
      const done = await this.ctx.store.expireLeases(
        this.ctx.clock(),
        (agent, paths) => notice(`${agent}'s lease on ${paths.join(', ')} expired`),
        EXPIRE_BATCH,
      )
      for (const d of done) await this.ctx.publish(d.roomId, d.posted)
    })
    this.#sweeping = run.catch(() => {})
    return run
  }

  async close(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep)
    await this.#sweeping
  }
}
