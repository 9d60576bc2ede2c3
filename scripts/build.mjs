#!/usr/bin/env node
// Compiles the server to plain JavaScript (what `npm start` and the image run: no TypeScript loader in the process),
// with the files it reads beside its code (migrations, web assets, package.json for the version) and a migrated
// embedded data directory that new data dirs are copied from. Usage: node scripts/build.mjs [outDir, default dist]
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const out = path.resolve(root, process.argv[2] ?? 'dist')
rmSync(out, { recursive: true, force: true })
const tsc = path.join(root, 'node_modules/typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' })
for (const from of ['db/migrations', 'routes/web/static', 'package.json']) cpSync(path.join(root, from), path.join(out, from), { recursive: true })

const load = (file) => import(pathToFileURL(path.join(out, file)).href)
const [{ openDatabase }, { migrate }, { TEMPLATE }] = await Promise.all([load('db/sql.js'), load('db/migrate.js'), load('db/pglite-init.js')])
const scratch = mkdtempSync(path.join(out, 'template-'))
const db = await openDatabase({ dataDir: scratch })
await migrate(db)
await db.close()
renameSync(path.join(scratch, 'pglite'), TEMPLATE)
rmSync(scratch, { recursive: true })
