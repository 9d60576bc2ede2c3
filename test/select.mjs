// The test files `npm test` runs: every *.test.ts, except that on PostgreSQL (DATABASE_URL set) files whose first
// line says "store-independent" are left out: their code paths do not depend on the store, and the embedded run covers them.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

const files = readdirSync('test', { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules'))
  .map((f) => path.join('test', f))
  .sort()
const onPostgres = Boolean(process.env.DATABASE_URL)
const firstLine = (f) => readFileSync(f, 'utf8').split('\n', 1)[0]
console.log(files.filter((f) => !(onPostgres && firstLine(f).includes('store-independent'))).join('\n'))
