// Hand-made git wire data for hostile tests: pkt-lines, packs, deltas, raw Smart HTTP requests.
import { createHash } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import { encodeEntryHeader, encodeOfs } from '../../lib/git/pack-format.ts'

export const ZERO = '0'.repeat(40)

export const pkt = (s: string) => (Buffer.byteLength(s) + 4).toString(16).padStart(4, '0') + s

export const oidOf = (type: string, data: Buffer) => createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex')

/** The size varint at the start of a delta. */
export function varint(n: number): Buffer {
  const out: number[] = []
  do {
    let c = n % 128
    n = Math.floor(n / 128)
    if (n) c |= 0x80
    out.push(c)
  } while (n)
  return Buffer.from(out)
}

export interface CraftEntry {
  /** Pack type code: 1 commit, 2 tree, 3 blob, 4 tag, 6 ofs-delta, 7 ref-delta. */
  type: number
  data: Buffer
  /** Ref-delta base id. */
  base?: string
  /** Ofs-delta: index of the base entry in the same pack. */
  baseIndex?: number
}

/** A pack from raw entries (`count` may lie about the number of entries). */
export function pack(entries: CraftEntry[], count = entries.length): Buffer {
  const head = Buffer.alloc(12)
  head.write('PACK')
  head.writeUInt32BE(2, 4)
  head.writeUInt32BE(count, 8)
  const parts: Buffer[] = [head]
  const offsets: number[] = []
  let at = 12
  for (const e of entries) {
    offsets.push(at)
    const bits = [encodeEntryHeader(e.type, e.data.length)]
    if (e.base) bits.push(Buffer.from(e.base, 'hex'))
    if (e.baseIndex !== undefined) bits.push(encodeOfs(at - offsets[e.baseIndex]))
    bits.push(deflateSync(e.data, { level: 9 }))
    for (const b of bits) at += b.length
    parts.push(...bits)
  }
  const body = Buffer.concat(parts)
  return Buffer.concat([body, createHash('sha1').update(body).digest()])
}

/** A copy instruction: `size` bytes (≤ 16 MiB) from `offset` of the base. */
export function copyOp(offset: number, size: number): Buffer {
  let op = 0x80
  const args: number[] = []
  for (let i = 0; i < 4; i++) {
    const b = (offset >>> (8 * i)) & 0xff
    if (b) {
      op |= 1 << i
      args.push(b)
    }
  }
  for (let i = 0; i < 3; i++) {
    const b = (size >>> (8 * i)) & 0xff
    if (b) {
      op |= 0x10 << i
      args.push(b)
    }
  }
  return Buffer.from([op, ...args])
}

/** An insert instruction (at most 127 bytes). */
export const insertOp = (data: Buffer) => Buffer.concat([Buffer.from([data.length]), data])

/** A delta: its header, then the instructions. */
export const delta = (baseSize: number, resultSize: number, ops: Buffer[]) => Buffer.concat([varint(baseSize), varint(resultSize), ...ops])

/** A delta that copies the whole base `times` times, then inserts `tag` (so each result has its own id). */
export function amplifyingDelta(baseSize: number, times: number, tag: string): Buffer {
  const insert = Buffer.from(tag)
  return delta(baseSize, baseSize * times + insert.length, [...Array.from({ length: times }, () => copyOp(0, baseSize)), insertOp(insert)])
}

/** POSTs a Smart HTTP request body as is; resolves to the status and the body as latin1 text. */
export async function gitPost(base: string, room: string, service: 'git-upload-pack' | 'git-receive-pack', body: string | Buffer, opts: { headers?: Record<string, string>; signal?: AbortSignal } = {}) {
  const res = await fetch(`${base}/rooms/${room}/${service}`, {
    method: 'POST',
    headers: { 'content-type': `application/x-${service}-request`, ...opts.headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
    signal: opts.signal,
  })
  return { status: res.status, text: Buffer.from(await res.arrayBuffer()).toString('latin1') }
}

/** POSTs a receive-pack request: command lines (the first with capabilities), flush, pack. */
export function receiveRequest(base: string, room: string, commands: string[], packBytes?: Buffer, opts: { caps?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}) {
  const caps = opts.caps ?? 'report-status atomic'
  const lines = commands.map((c, i) => pkt(i === 0 ? `${c}\0${caps}\n` : `${c}\n`))
  return gitPost(base, room, 'git-receive-pack', Buffer.concat([Buffer.from(lines.join('') + '0000'), packBytes ?? Buffer.alloc(0)]), opts)
}

/** POSTs an upload-pack request body (v2 when `v2`). */
export function uploadRequest(base: string, room: string, body: string | Buffer, opts: { v2?: boolean; signal?: AbortSignal } = {}) {
  return gitPost(base, room, 'git-upload-pack', body, { signal: opts.signal, headers: opts.v2 ? { 'git-protocol': 'version=2' } : {} })
}
