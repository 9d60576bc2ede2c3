// The server's settings, read from environment variables against one schema, and its version.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Type, type Static, type TSchema } from 'typebox'
import Value from 'typebox/value'
import { isAddressOrCidr } from './net/client-address.ts'

/** This server's version, read once from package.json (the A2A agent card, MCP's server info and git's agent string say it). */
export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version

export const PROTOCOLS = ['a2a', 'mcp', 'sse', 'git', 'web'] as const
export type Protocol = (typeof PROTOCOLS)[number]

const Port = Type.Integer({ minimum: 0, maximum: 65535 })
const Bool = Type.Boolean()
const Positive = Type.Number({ exclusiveMinimum: 0 })
const Count = Type.Integer({ minimum: 1 })
/** 0 turns the limit off. */
const Limit = Type.Integer({ minimum: 0 })

/** Every setting: its environment variable, schema and default. The config type is derived from this table. */
const FIELDS = {
  port: { env: 'PORT', schema: Port, default: 3000 },
  host: { env: 'HOST', schema: Type.String({ minLength: 1 }), default: '127.0.0.1' },
  databaseUrl: { env: 'DATABASE_URL', schema: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })) },
  databasePoolSize: { env: 'DATABASE_POOL_SIZE', schema: Type.Integer({ minimum: 2 }), default: 10 },
  dataDir: { env: 'DATA_DIR', schema: Type.String({ minLength: 1 }), default: './data' },
  reposDir: { env: 'REPOS_DIR', schema: Type.Optional(Type.String({ minLength: 1 })) },
  baseUrl: { env: 'BASE_URL', schema: Type.Optional(Type.String({ pattern: '^https?://[^/]+' })) },
  protocols: { env: 'PROTOCOLS', schema: Type.Array(Type.Enum([...PROTOCOLS])), default: [...PROTOCOLS] },
  mcpPort: { env: 'MCP_PORT', schema: Type.Optional(Port) },
  mcpSessionIdleSeconds: { env: 'MCP_SESSION_IDLE_SECONDS', schema: Positive, default: 86400 },
  roomTtlDays: { env: 'ROOM_TTL_DAYS', schema: Positive, default: 7 },
  reaperIntervalSeconds: { env: 'REAPER_INTERVAL_SECONDS', schema: Positive, default: 3600 },
  allowPrivateEndpoints: { env: 'ALLOW_PRIVATE_ENDPOINTS', schema: Bool, default: false },
  logLevel: {
    env: 'LOG_LEVEL',
    schema: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
  },
  maxMessageChars: { env: 'MAX_MESSAGE_CHARS', schema: Count, default: 32000 },
  bodyLimitBytes: { env: 'BODY_LIMIT_BYTES', schema: Count, default: 1024 * 1024 },
  gitMaxPushBytes: { env: 'GIT_MAX_PUSH_BYTES', schema: Count, default: 512 * 1024 * 1024 },
  /** Unreachable git objects are pruned once older than this; 0 prunes at the next run. */
  gitPruneGraceSeconds: { env: 'GIT_PRUNE_GRACE_SECONDS', schema: Type.Integer({ minimum: 0 }), default: 3600 },
  ssePingSeconds: { env: 'SSE_PING_SECONDS', schema: Positive, default: 15 },
  sseClientBufferBytes: { env: 'SSE_CLIENT_BUFFER_BYTES', schema: Count, default: 1024 * 1024 },
  busResyncSeconds: { env: 'BUS_RESYNC_SECONDS', schema: Positive, default: 5 },
  pushTimeoutMs: { env: 'PUSH_TIMEOUT_MS', schema: Count, default: 10_000 },
  pushConnectTimeoutMs: { env: 'PUSH_CONNECT_TIMEOUT_MS', schema: Count, default: 3_000 },
  pushRetryBaseMs: { env: 'PUSH_RETRY_BASE_MS', schema: Count, default: 1_000 },
  pushRetryMaxMs: { env: 'PUSH_RETRY_MAX_MS', schema: Count, default: 300_000 },
  pushResponseMaxBytes: { env: 'PUSH_RESPONSE_MAX_BYTES', schema: Count, default: 64 * 1024 },
  metrics: { env: 'METRICS', schema: Bool, default: true },
  metricsPort: { env: 'METRICS_PORT', schema: Type.Optional(Port) },
  rateLimitMax: { env: 'RATE_LIMIT_MAX', schema: Limit, default: 600 },
  rateLimitWindowSeconds: { env: 'RATE_LIMIT_WINDOW_SECONDS', schema: Positive, default: 60 },
  maxRoomsPerIpPerHour: { env: 'MAX_ROOMS_PER_IP_PER_HOUR', schema: Limit, default: 60 },
  maxAgentsPerRoom: { env: 'MAX_AGENTS_PER_ROOM', schema: Limit, default: 1000 },
  maxSseStreamsPerAgent: { env: 'MAX_SSE_STREAMS_PER_AGENT', schema: Limit, default: 10 },
  maxSseStreamsPerIp: { env: 'MAX_SSE_STREAMS_PER_IP', schema: Limit, default: 20 },
  maxMcpSessionsPerIp: { env: 'MAX_MCP_SESSIONS_PER_IP', schema: Limit, default: 100 },
  maxWaitTasksPerAgent: { env: 'MAX_WAIT_TASKS_PER_AGENT', schema: Limit, default: 8 },
  /** Proxies whose X-Forwarded-For is believed; none by default. */
  trustProxy: {
    env: 'TRUST_PROXY',
    schema: Type.Array(Type.String({ minLength: 1 })),
    default: [],
    check: (v: string[]) => {
      const bad = v.find((entry) => !isAddressOrCidr(entry))
      return bad === undefined ? null : `${JSON.stringify(bad)} is not an IP address or CIDR; expected a comma list of IP addresses or CIDRs, e.g. 127.0.0.1,10.0.0.0/8`
    },
  },
  repoQuotaBytes: { env: 'REPO_QUOTA_BYTES', schema: Limit, default: 1024 * 1024 * 1024 },
  maxEventLoopDelayMs: { env: 'MAX_EVENT_LOOP_DELAY_MS', schema: Limit, default: 2000 },
  maxHeapUsedBytes: { env: 'MAX_HEAP_USED_BYTES', schema: Limit, default: 0 },
} satisfies Record<string, { env: string; schema: TSchema; default?: unknown; check?: (value: any) => string | null }>

type Fields = typeof FIELDS
export const ConfigSchema = Type.Object(
  Object.fromEntries(Object.entries(FIELDS).map(([k, f]) => [k, f.schema])) as { [K in keyof Fields]: Fields[K]['schema'] },
)
export type Config = Static<typeof ConfigSchema> & { reposDir: string }

export class ConfigError extends Error {}

function parseEnv(key: keyof Fields, raw: string): unknown {
  if (key === 'protocols') return raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)
  if (key === 'trustProxy') return raw.split(',').map((s) => s.trim()).filter(Boolean)
  const schema = FIELDS[key].schema as TSchema & { type?: string }
  if (schema.type === 'boolean') {
    const v = raw.trim().toLowerCase()
    if (['1', 'true', 'yes', 'on'].includes(v)) return true
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false
    return raw
  }
  if (schema.type === 'integer' || schema.type === 'number') return raw.trim() === '' ? raw : Number(raw)
  return raw
}

/** Builds the config from environment variables plus overrides; throws ConfigError naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(FIELDS) as [keyof Fields, Fields[keyof Fields]][]) {
    const raw = env[field.env]
    let value: unknown = key in overrides ? overrides[key] : raw !== undefined && raw !== '' ? parseEnv(key, raw) : undefined
    if (value === undefined && 'default' in field) value = structuredClone(field.default)
    if (value !== undefined && !Value.Check(field.schema, value)) {
      throw new ConfigError(`Invalid ${field.env}: ${JSON.stringify(raw ?? value)} (${describe(field.schema)})`)
    }
    const problem = value !== undefined && 'check' in field ? field.check(value as never) : null
    if (problem) throw new ConfigError(`Invalid ${field.env}: ${problem}`)
    if (value !== undefined) out[key] = value
  }
  const config = out as Config
  config.reposDir = config.reposDir ?? path.join(config.dataDir, 'repos')
  return config
}

function describe(schema: TSchema): string {
  const s = schema as Record<string, unknown>
  if (s.enum) return `one of ${(s.enum as string[]).join(', ')}`
  if (s.type === 'array') {
    const items = (s.items as Record<string, unknown>).enum as string[] | undefined
    return items ? `a comma list of ${items.join(', ')}` : 'a comma list'
  }
  if (s.type === 'boolean') return 'expected 1/0 or true/false'
  if (s.pattern) return `must match ${s.pattern}`
  if (s.type === 'integer') return `expected an integer${s.minimum !== undefined ? ` ≥ ${s.minimum}` : ''}${s.maximum !== undefined ? ` ≤ ${s.maximum}` : ''}`
  if (s.type === 'number') return 'expected a positive number'
  return 'expected a non-empty string'
}
