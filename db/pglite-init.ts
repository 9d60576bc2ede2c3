/** Loads PGlite and creates a new embedded data directory (initdb) in a child process, so its memory never lands in ours. */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs'
import v8 from 'node:v8'

/**
 * PGlite, loaded on first use (a PostgreSQL server never needs it). V8 tiers a WebAssembly function up to its
 * optimizing compiler once it has run for a budget; at the default, starting PostgreSQL alone tiers up enough of
 * it to cost ~30 MB of RSS for code that never runs again. A 100× budget still tiers up what a busy server runs.
 */
export function loadPglite() {
  v8.setFlagsFromString('--wasm-tiering-budget=180000000')
  return import('@electric-sql/pglite')
}

// PGlite runs initdb inside a second PGlite plus initdb.wasm and copies of their heaps: ~450 MB that stayed in the
// server until some later major GC. A child process gives it all back when it exits. Plain node, no TypeScript.
const CHILD = `
const { PGlite } = await import(process.argv[1])
const db = await PGlite.create(process.argv[2])
await db.close()
`

/** Makes `dir` a PGlite data directory unless it has anything in it; built beside it and renamed, so a crash leaves no half. */
export async function initPgliteDir(dir: string): Promise<void> {
  // A directory with anything in it is left to PGlite as before (resume, or its own error).
  if (existsSync(dir) && readdirSync(dir).length > 0) return
  const tmp = `${dir}.initdb`
  rmSync(tmp, { recursive: true, force: true })
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, import.meta.resolve('@electric-sql/pglite'), tmp], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  let err = ''
  child.stderr!.on('data', (b: Buffer) => (err = (err + b).slice(-4000)))
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('exit', resolve))
  if (code !== 0 || !existsSync(`${tmp}/PG_VERSION`)) throw new Error(`initdb of ${dir} failed (exit ${code}): ${err.trim()}`)
  if (existsSync(dir)) rmdirSync(dir) // empty, checked above
  renameSync(tmp, dir)
}
