// Generates a repository with thousands of commits (git fast-import) for bench/git.ts.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'

/** Deterministic pseudo-random numbers. */
function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const WORDS = 'alpha beta gamma delta room agent message push clone fetch branch commit tree blob tag index pack delta chain server client'.split(' ')

function fileText(r: () => number, lines: number): string[] {
  return Array.from({ length: lines }, () => Array.from({ length: 4 + Math.floor(r() * 8) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' '))
}

/** A non-bare repository at `dir` with `commits` commits on main over `files` files; reused if present. */
export function generateRepo(dir: string, commits = 5000, files = 600): string {
  if (existsSync(`${dir}/.git/refs/heads/main`)) return dir
  const tmp = `${dir}.tmp`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  spawnSync('git', ['init', '-q', '-b', 'main', tmp])
  const r = rng(42)
  const content = Array.from({ length: files }, () => fileText(r, 20 + Math.floor(r() * 200)))
  const names = content.map((_, i) => `src/mod${i % 40}/file${i}.ts`)
  const parts: string[] = []
  let t = 1_600_000_000
  for (let c = 0; c < commits; c++) {
    const touched = c === 0 ? names.map((_, i) => i) : Array.from({ length: 1 + Math.floor(r() * 3) }, () => Math.floor(r() * files))
    for (const i of touched) {
      if (c === 0) continue
      const lines = content[i]
      const at = Math.floor(r() * lines.length)
      lines.splice(at, Math.floor(r() * 3), ...fileText(r, 1 + Math.floor(r() * 4)))
    }
    const msg = `change ${c}: ${WORDS[Math.floor(r() * WORDS.length)]} ${WORDS[Math.floor(r() * WORDS.length)]}\n`
    t += 600 + Math.floor(r() * 3600)
    parts.push(`commit refs/heads/main\ncommitter Bench <bench@example.com> ${t} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}`)
    for (const i of touched) {
      const data = content[i].join('\n') + '\n'
      parts.push(`M 100644 inline ${names[i]}\ndata ${Buffer.byteLength(data)}\n${data}`)
    }
    parts.push('\n')
  }
  const res = spawnSync('git', ['fast-import', '--quiet'], { cwd: tmp, input: parts.join(''), maxBuffer: 1 << 30 })
  if (res.status !== 0) throw new Error(`fast-import failed: ${res.stderr}`)
  spawnSync('git', ['repack', '-adq'], { cwd: tmp })
  spawnSync('git', ['reset', '-q', '--hard', 'main'], { cwd: tmp })
  renameSync(tmp, dir)
  return dir
}
