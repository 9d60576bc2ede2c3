#!/usr/bin/env node
// The `convene` command. Its code is TypeScript, run through tsx (a dependency, as for `npm run dev`): no build step.
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'

// A reader that went away (`convene tail | head -1`) ends the command quietly.
process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1))

// This package's tsconfig, wherever the command is run from.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) })
const { main } = await import('../cli/main.ts')
const code = await main(process.argv.slice(2))
// -1: a command that keeps running (the server) exits on its own.
if (code >= 0) process.stdout.write('', () => process.exit(code))
