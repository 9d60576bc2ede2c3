#!/usr/bin/env node
// The `convene` command. Its code is TypeScript, run through tsx (a dependency, as for `npm start`): no build step.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../cli/main.ts')
const code = await main(process.argv.slice(2))
// -1: a command that keeps running (the server) exits on its own.
if (code >= 0) process.stdout.write('', () => process.exit(code))
