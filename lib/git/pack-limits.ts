// What a received pack may cost once inflated (per object and in all), and the error a refused pack raises.

export class PackError extends Error {}

export interface PackLimits {
  /** Largest single object, inflated (a small pack gets less, see packBudget). */
  maxObjectSize: number
  /** Sum of all inflated objects and deltas in one pack (a small pack gets less, see packBudget). */
  maxInflated: number
  maxDeltaDepth: number
  /** The room's repository quota in bytes, when it has one: the inflated budget is at most QUOTA_RATIO times it. */
  quotaBytes?: number
}

export const DEFAULT_LIMITS: PackLimits = { maxObjectSize: 256 * 2 ** 20, maxInflated: 2 * 2 ** 30, maxDeltaDepth: 1000 }

const MiB = 2 ** 20
// Per object: at most 16 times the pack, at least 8 MiB. A file that large compresses less than 16:1 in practice
// (text 3-10:1), while a few KB can no longer claim hundreds of MB.
const OBJECT_RATIO = 16
const MIN_OBJECT_LIMIT = 8 * MiB
// In all: at most 1024 times the pack (zlib's own ceiling is about 1032:1; only deltas go beyond), at least 512 MiB
// so that many versions of one compressible file still fit, at most 64 times the room's quota.
const INFLATE_RATIO = 1024
const MIN_INFLATED = 512 * MiB
const QUOTA_RATIO = 64

/** The per-object and total inflated limits for a pack of `packBytes`. */
export function packBudget(packBytes: number, limits: PackLimits): { object: number; inflated: number } {
  const object = Math.min(limits.maxObjectSize, Math.max(MIN_OBJECT_LIMIT, packBytes * OBJECT_RATIO))
  let inflated = Math.min(limits.maxInflated, Math.max(MIN_INFLATED, packBytes * INFLATE_RATIO))
  if (limits.quotaBytes !== undefined && limits.quotaBytes > 0) inflated = Math.min(inflated, limits.quotaBytes * QUOTA_RATIO)
  return { object, inflated }
}
