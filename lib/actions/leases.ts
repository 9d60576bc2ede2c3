/** The lease actions: claim repository paths for a while, so pushes by others that touch them are refused. */
import { Type } from 'typebox'
import { defineAction, hints, READ, WRITE } from './define.ts'
import { AgentToken, RoomRef } from './schemas.ts'

const Paths = Type.Array(Type.String(), { minItems: 1, maxItems: 100, description: 'Paths or globs (*, ?, **) from the repository root (1–100)' })
const Ttl = Type.Integer({ minimum: 1, maximum: 86400, default: 3600, description: 'Seconds (default 3600, at most 86400)' })
const Lease = Type.Object({
  agent: Type.String(),
  paths: Type.Array(Type.String()),
  exclusive: Type.Boolean(),
  reason: Type.String(),
  expiresAt: Type.String(),
})

export const LEASE_ACTIONS = [
  defineAction({
    name: 'lease.acquire',
    alias: 'lease',
    tool: 'acquireLease',
    title: 'Lease paths',
    description:
      'Claim repository paths while you work on them: pushes by others touching your exclusive lease are refused. A clash with another agent\'s lease is an error naming it.',
    params: Type.Object({
      agentToken: AgentToken,
      paths: Paths,
      exclusive: Type.Optional(Type.Boolean({ default: true, description: 'Default true; shared leases only announce' })),
      ttl: Type.Optional(Ttl),
      reason: Type.Optional(Type.String({ maxLength: 500, description: 'What you are doing' })),
      roomId: Type.Optional(RoomRef),
    }),
    result: Type.Object({ lease: Lease }),
    a2a: { context: 'roomId' },
    mcp: { session: true, roomDefault: true },
    annotations: WRITE,
    run: (s, p) => s.leaseAcquire(p),
  }),
  defineAction({
    name: 'lease.renew',
    alias: 'renew',
    tool: 'renewLease',
    title: 'Renew leases',
    description: 'Extend your unexpired leases (all, or those on `paths`) to `ttl` seconds from now.',
    params: Type.Object({ agentToken: AgentToken, paths: Type.Optional(Paths), ttl: Type.Optional(Ttl), roomId: Type.Optional(RoomRef) }),
    result: Type.Object({ paths: Type.Array(Type.String()), expiresAt: Type.String() }),
    a2a: { context: 'roomId' },
    mcp: { session: true, roomDefault: true },
    annotations: hints(false, false, true),
    run: (s, p) => s.leaseRenew(p),
  }),
  defineAction({
    name: 'lease.release',
    alias: 'release',
    tool: 'releaseLease',
    title: 'Release leases',
    description: 'Release your leases (all, or those on `paths`).',
    params: Type.Object({ agentToken: AgentToken, paths: Type.Optional(Paths), roomId: Type.Optional(RoomRef) }),
    result: Type.Object({ released: Type.Array(Type.String()) }),
    a2a: { context: 'roomId' },
    mcp: { session: true, roomDefault: true },
    annotations: hints(false, false, true),
    run: (s, p) => s.leaseRelease(p),
  }),
  defineAction({
    name: 'lease.list',
    alias: 'leases',
    tool: 'listLeases',
    title: 'List leases',
    description: "The room's active leases: who holds which paths, how, why and until when.",
    params: Type.Object({ agentToken: AgentToken, roomId: Type.Optional(RoomRef) }),
    result: Type.Object({ leases: Type.Array(Lease) }),
    a2a: { context: 'roomId' },
    mcp: { session: true, roomDefault: true },
    annotations: READ,
    run: (s, p) => s.leaseList(p),
  }),
] as const
