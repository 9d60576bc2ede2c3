/** Restores an MCP session into a fresh SDK transport (marks it initialised under its known id). */
import type { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server'

interface Inner {
  sessionId?: string
  _initialized?: boolean
}

/**
 * Marks a new transport as an already-initialised session with a known id (a session restored from the
 * database, or a fresh one handed to a client whose id we no longer know). The SDK has no option for this
 * (upstream PRs #1668/#1786 propose one), so we set the two fields its session check reads; the test suite
 * covers it, and this throws at once if an SDK update moves them.
 */
export function hydrate(transport: WebStandardStreamableHTTPServerTransport, sessionId: string): void {
  const inner = transport as unknown as Inner
  if (!('_initialized' in inner)) throw new Error('MCP SDK transport internals changed: cannot restore sessions')
  inner.sessionId = sessionId
  inner._initialized = true
}
