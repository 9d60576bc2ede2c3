/** Loads PGlite and creates a new embedded data directory: a copy of the build's template, or initdb in a worker thread. */
import { cpSync, existsSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import { Worker } from 'node:worker_threads'

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
// server until some later major GC. A worker thread's heap and WebAssembly memories are unmapped when it ends (no
// process is spawned: the server runs none); its ArrayBuffers' malloc'd memory is not. Plain JavaScript, no TypeScript.
const WORKER = `
const { workerData } = require('node:worker_threads')
import(workerData.pglite).then(async ({ PGlite }) => {
  const db = await PGlite.create(workerData.dir)
  await db.close()
})
`

/**
 * A migrated data directory the build (scripts/build.mjs) makes beside the compiled code: a new data dir is a copy of
 * it. The worker's memory is freed to the process, not to the system (~150 MB of RSS stays in malloc's arenas).
 */
export const TEMPLATE = fileURLToPath(new URL('./pglite-template', import.meta.url))

/** Makes `dir` a PGlite data directory unless it has anything in it; built beside it and renamed, so a crash leaves no half. */
export async function initPgliteDir(dir: string): Promise<void> {
  // A directory with anything in it is left to PGlite as before (resume, or its own error).
  if (existsSync(dir) && readdirSync(dir).length > 0) return
  const tmp = `${dir}.initdb`
  rmSync(tmp, { recursive: true, force: true })
  if (existsSync(`${TEMPLATE}/PG_VERSION`)) cpSync(TEMPLATE, tmp, { recursive: true })
  else await initdb(tmp)
  if (existsSync(dir)) rmdirSync(dir) // empty, checked above
  renameSync(tmp, dir)
}

async function initdb(tmp: string): Promise<void> {
  const workerData = { pglite: import.meta.resolve('@electric-sql/pglite'), dir: tmp }
  // no execArgv: not the server's loader hooks (tsx); its output is not the server's log
  const worker = new Worker(WORKER, { eval: true, workerData, execArgv: [], stdout: true, stderr: true })
  worker.stdout.resume()
  worker.stderr.resume()
  const code = await new Promise<number>((resolve, reject) => worker.once('error', reject).once('exit', resolve)).catch((e: Error) => {
    throw new Error(`initdb of ${tmp} failed: ${e.message}`)
  })
  if (code !== 0 || !existsSync(`${tmp}/PG_VERSION`)) throw new Error(`initdb of ${tmp} failed (exit ${code})`)
}
