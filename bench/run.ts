/**
 * `npm run bench`: every benchmark, against servers it starts itself (embedded, and PostgreSQL when
 * DATABASE_URL is set). Prints one table and writes bench/results.json. Never part of `npm test`.
 */
import { existsSync, writeFileSync } from 'node:fs'
import os from 'node:os'

type Summary = Record<string, number | string>
interface Bench {
  name: string
  file: string
  run: (opts: { databaseUrl?: string }) => Promise<Summary | { summary: Summary }>
}

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const databaseUrl = process.env.DATABASE_URL || undefined
const backends: (string | undefined)[] = [undefined, ...(databaseUrl ? [databaseUrl] : [])]

const BENCHES = ['a2a', 'fanout', 'mcp', 'git', 'memory', 'browse', 'search', 'receipts', 'floor', 'soak']
const results: Record<string, Summary> = {}
const started = Date.now()

for (const name of BENCHES) {
  if (only.length && !only.includes(name)) continue
  const file = new URL(`./${name}.ts`, import.meta.url)
  if (!existsSync(file)) continue
  const mod = (await import(file.href)) as Pick<Bench, 'run'>
  for (const db of backends) {
    const label = `${name} (${db ? 'postgres' : 'embedded'})`
    console.error(`\n▶ ${label}`)
    try {
      const out = await mod.run({ databaseUrl: db })
      results[label] = 'summary' in out && typeof out.summary === 'object' ? (out.summary as Summary) : (out as Summary)
    } catch (err) {
      results[label] = { error: String((err as Error).message ?? err).slice(0, 200) }
    }
  }
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
const rows = Object.entries(results).flatMap(([bench, summary]) => Object.entries(summary).map(([metric, value]) => ({ bench, metric, value })))
console.log(`\nMachine: ${machine}`)
console.table(rows)
writeFileSync(new URL('./results.json', import.meta.url), JSON.stringify({ machine, date: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000), results }, null, 2))
console.log('wrote bench/results.json')
