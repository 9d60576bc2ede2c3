// Ids and agent tokens: generated as UUIDs, stored and compared only as SHA-256 digests.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const newId = (): string => randomUUID()
/** Agent tokens are v4 UUIDs (122 random bits), the shape existing clients expect. */
export const newToken = (): string => randomUUID()
export const isUuid = (s: string): boolean => UUID.test(s)

/** Tokens are stored only as SHA-256 digests: a leaked database does not leak identities. */
export const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest()

export function sameDigest(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
