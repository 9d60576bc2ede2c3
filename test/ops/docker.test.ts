import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

const engine = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 10_000 })
const noEngine = engine.status === 0 ? false : 'no Docker engine on this machine (docker info failed): the image build is checked where one exists'

test('the compose file runs PostgreSQL with a healthcheck and the app against it', () => {
  const compose = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')
  assert.match(compose, /image: postgres:/)
  assert.match(compose, /healthcheck:/)
  assert.match(compose, /condition: service_healthy/)
  assert.match(compose, /DATABASE_URL: postgres:\/\//)
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')
  assert.match(dockerfile, /^USER node$/m, 'runs as a non-root user')
  assert.match(dockerfile, /^HEALTHCHECK /m)
  assert.equal((dockerfile.match(/^FROM /gm) ?? []).length, 2, 'multi-stage')
})

test('the Docker image builds', { skip: noEngine, timeout: 600_000 }, () => {
  const r = spawnSync('docker', ['build', '-q', '-t', 'convene:test', '.'], { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
})
