// Request bodies for the git services: raw stream, optional gzip, our own byte limit.
import { Transform } from 'node:stream'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'

export class BodyTooLarge extends Error {}

/** Decodes Content-Encoding and stops after `limit` bytes (counted after decoding). */
export function gitBody(raw: Readable, encoding: string | undefined, limit: number, onBytes?: (n: number) => void): Readable {
  let seen = 0
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length
      onBytes?.(chunk.length)
      if (seen > limit) cb(new BodyTooLarge(`request body exceeds ${limit} bytes`))
      else cb(null, chunk)
    },
  })
  const enc = (encoding ?? '').trim().toLowerCase()
  const source = enc === 'gzip' || enc === 'x-gzip' ? raw.pipe(createGunzip()) : raw
  if (source !== raw) raw.on('error', (err) => source.destroy(err))
  source.on('error', (err) => counter.destroy(err))
  return source.pipe(counter)
}
