// Lease patterns: repository paths or globs (`*`, `?`, `**`), checked so none escapes the repository, matched against pushed paths.
const MAX_PATTERN_CHARS = 512
const GLOB = /[*?]/

/** A pattern as stored: no leading `./` or `/`-runs, no trailing `/`; or why it is refused. */
export function normalizePattern(raw: string): { pattern: string } | { problem: string } {
  let p = raw.trim()
  if (p.length === 0) return { problem: 'must not be empty' }
  if (p.length > MAX_PATTERN_CHARS) return { problem: `must be at most ${MAX_PATTERN_CHARS} characters` }
  if (p.startsWith('/') || /^[a-z]:/i.test(p)) return { problem: `must be relative to the repository root (got "${p.slice(0, 60)}")` }
  if (p.includes('\\') || /[\u0000-\u001f]/.test(p)) return { problem: `must use "/" and no control characters (got "${p.slice(0, 60)}")` }
  p = p.replace(/\/{2,}/g, '/').replace(/^(\.\/)+/, '').replace(/\/+$/, '')
  const segments = p.split('/')
  if (segments.some((s) => s === '..' || s === '.')) return { problem: `must stay inside the repository: no "." or ".." segments (got "${raw.slice(0, 60)}")` }
  if (p === '' || p === '**') return { pattern: '**' }
  return { pattern: p }
}

const escape = (s: string) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&')

/**
 * What a pattern covers: `*` and `?` stay within one path segment, `**` spans any number of them; a pattern
 * without wildcards names a file or a directory (everything under it).
 */
export function patternRegExp(pattern: string): RegExp {
  if (pattern === '**') return /^.*$/s
  if (!GLOB.test(pattern)) return new RegExp(`^${escape(pattern)}(?:/.*)?$`, 's')
  const parts = pattern.split('/').map((seg, i, all) => {
    if (seg === '**') return i === all.length - 1 ? '(?:/.*)?' : '(?:/[^/]+)*'
    const body = seg.split('').map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : escape(c))).join('')
    return `${i === 0 ? '' : '/'}${body}`
  })
  // a leading `**` may match nothing: drop the slash the next segment would need
  let source = parts.join('')
  if (pattern.startsWith('**/')) source = `(?:.*/)?${parts.slice(1).join('').replace(/^\//, '')}`
  return new RegExp(`^${source}$`, 's')
}

const segmentRegExp = (seg: string) => new RegExp(`^${seg.split('').map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : escape(c))).join('')}$`, 's')

/** Two path segments that one name can match. */
function segmentsMeet(x: string, y: string): boolean {
  const [gx, gy] = [GLOB.test(x), GLOB.test(y)]
  if (!gx && !gy) return x === y
  if (gx && gy) return true
  return gx ? segmentRegExp(x).test(y) : segmentRegExp(y).test(x)
}

/**
 * Whether two patterns may cover a common path: exact when either has no wildcard; otherwise segment by segment up
 * to the first `**`, and by depth when neither has one (conservative past a `**`, and between two wildcard segments).
 */
export function patternsOverlap(a: string, b: string): boolean {
  if (a === '**' || b === '**') return true
  if (!GLOB.test(a)) return patternRegExp(b).test(a) || (!GLOB.test(b) ? patternRegExp(a).test(b) : b.startsWith(`${a}/`))
  if (!GLOB.test(b)) return patternRegExp(a).test(b) || a.startsWith(`${b}/`)
  const [x, y] = [a.split('/'), b.split('/')]
  const [dx, dy] = [x.indexOf('**'), y.indexOf('**')]
  const upTo = Math.min(dx < 0 ? x.length : dx, dy < 0 ? y.length : dy)
  for (let i = 0; i < upTo; i++) if (!segmentsMeet(x[i], y[i])) return false
  if (dx < 0 && dy < 0) return x.length === y.length
  // one fixed depth against a `**` pattern: it must reach at least the segments around the `**`
  if (dx < 0) return x.length >= y.length - 1
  if (dy < 0) return y.length >= x.length - 1
  return true
}
