// Secrets never reach the log: every URL form the server accepts is redacted before it is written.
import { pino } from 'pino'
const REDACTED = '[redacted]'

/** Query keys whose values are credentials (matched on the decoded key, any case). */
const SECRET_KEY = /token|pass|pwd|secret|auth|key|session|credential|sig/i
/** Log fields (and fields of logged errors) whose value is a credential. */
const SECRET_FIELD = /^(?:authorization|proxy-authorization|cookie|set-cookie|mcp-session-id|password|agenttoken|token|secret)$/i
/** A room UUID is a bearer secret for protected rooms: its first group stays, for operators. */
const UUID = /([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi
/** Route tails that may follow a `name:password` segment; any other tail may be the rest of the password. */
const ROUTE_TAIL = /^\/(?:info\/refs|git-upload-pack|git-receive-pack|sse)$/
const ABSOLUTE = /^([a-z][a-z0-9+.-]*:)?\/\/([^/?#]*)/i

/** Percent-decoding that never throws and sees through double encoding (`%253A`). */
function decode(s: string): string {
  let out = s
  for (let i = 0; i < 3 && /%[0-9a-f]{2}/i.test(out); i++) out = out.replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
  return out
}

function maskUuids(raw: string): string {
  const plain = decode(raw)
  UUID.lastIndex = 0
  return UUID.test(plain) ? plain.replace(UUID, `$1-${REDACTED}`) : raw
}

function redactPath(path: string): string {
  const segments = path.split('/')
  const out: string[] = []
  for (let i = 0; i < segments.length; i++) {
    const plain = decode(segments[i])
    const colon = plain.indexOf(':')
    if (colon < 0 || colon === plain.length - 1) {
      out.push(maskUuids(segments[i]))
      continue
    }
    // `name:password` (web page, git, SSE): the name stays, the rest of the segment is the password.
    out.push(`${maskUuids(plain.slice(0, colon))}:${REDACTED}`)
    const tail = segments.slice(i + 1).join('/')
    if (tail && ROUTE_TAIL.test(`/${tail}`)) out.push(tail)
    break
  }
  return out.join('/')
}

function redactQuery(query: string): string {
  return query
    .split(/([&;])/)
    .map((part) => {
      if (part === '&' || part === ';') return part
      const eq = part.indexOf('=')
      if (eq < 0) return maskUuids(part)
      const key = part.slice(0, eq)
      return SECRET_KEY.test(decode(key).replace(/\+/g, ' ')) ? `${key}=${REDACTED}` : `${key}=${maskUuids(part.slice(eq + 1))}`
    })
    .join('')
}

/** A request URL (origin- or absolute-form) with passwords, tokens, credentials and room UUIDs redacted. */
export function redactUrl(url: string): string {
  let rest = url
  let origin = ''
  const abs = ABSOLUTE.exec(url)
  if (abs) {
    const authority = abs[2].includes('@') ? `${REDACTED}@${abs[2].slice(abs[2].lastIndexOf('@') + 1)}` : abs[2]
    origin = `${abs[1] ?? ''}//${authority}`
    rest = url.slice(abs[0].length)
  }
  const q = rest.indexOf('?')
  const path = q < 0 ? rest : rest.slice(0, q)
  return origin + redactPath(path) + (q < 0 ? '' : `?${redactQuery(rest.slice(q + 1))}`)
}

/** Free text (a log message, an error message): every URL or path in it is redacted. */
function redactText(text: string): string {
  if (!text.includes('/')) return text
  return text.replace(/(?:[a-z][a-z0-9+.-]*:)?\/[^\s"'<>`]*/gi, (m) => redactUrl(m))
}

/** A stack trace's message lines are redacted; its frames (file:line:column) are kept. */
function redactStack(stack: string): string {
  const frame = stack.search(/\n\s+at /)
  return frame < 0 ? redactText(stack) : redactText(stack.slice(0, frame)) + stack.slice(frame)
}

/** Strings redacted, plain data kept, buffers and deep nesting dropped. */
function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value)
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value
  if (value instanceof Error) return serializeError(value, depth)
  if (depth > 3 || ArrayBuffer.isView(value)) return undefined
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? REDACTED : scrub(v, depth + 1)
  return out
}

/** Like pino's error serializer, with messages redacted and raw request bytes (`rawPacket`) left out. */
function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return scrub(err, depth)
  const out: Record<string, unknown> = { type: err.constructor?.name ?? 'Error', message: redactText(err.message) }
  if (err.stack) out.stack = redactStack(err.stack)
  for (const [k, v] of Object.entries(err)) if (!(k in out) && k !== 'rawPacket') out[k] = SECRET_FIELD.test(k) ? REDACTED : scrub(v, depth + 1)
  if (err.cause !== undefined && depth < 3) out.cause = serializeError(err.cause, depth + 1)
  return out
}

/** Fields the serializers below write (req, res, err): the log formatter leaves them to those. */
const SERIALIZED = new Set(['req', 'res', 'err'])

/** pino options for the server: JSON, pretty on a terminal, secrets redacted on every line. */
export function loggerOptions(level: string, pretty = process.stdout.isTTY === true) {
  return {
    level,
    serializers: {
      req(req: { id?: unknown; method?: string; url?: string; hostname?: string; ip?: string }) {
        return { id: req.id, method: req.method, url: redactUrl(req.url ?? ''), host: req.hostname, remoteAddress: req.ip }
      },
      res(res: { statusCode?: number }) {
        return { statusCode: res.statusCode }
      },
      // Typed as pino's: non-errors (a message string) pass through redacted, as pino's own serializer passes them.
      err: (err: unknown) => serializeError(err) as { type: string; message: string; stack: string },
    },
    formatters: {
      // Every other field: credential fields at any depth, and strings (an endpoint, a URL, a message) as text.
      // (Not pino's path redaction: its wildcards cost ~10 µs on every request line.)
      log(obj: Record<string, unknown>) {
        let out: Record<string, unknown> | null = null
        for (const [k, v] of Object.entries(obj)) {
          if (SERIALIZED.has(k) || (typeof v !== 'string' && (v === null || typeof v !== 'object'))) continue
          const clean = SECRET_FIELD.test(k) ? REDACTED : scrub(v, 1)
          if (clean !== v) (out ??= { ...obj })[k] = clean
        }
        return out ?? obj
      },
    },
    hooks: {
      logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? redactText(a) : a)),
        )
      },
    },
    // Buffered: up to 8 KB or 100 ms of lines in one write (a write per request line cost a fifth of the server's
    // CPU under load); pino flushes what is left at exit.
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : { stream: pino.destination({ dest: 1, sync: false, minLength: 8192, periodicFlush: 100 }) }),
  }
}
