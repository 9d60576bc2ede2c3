// Copy-paste commands shown on the landing page, the docs and the room pages (HTML and text alike).

export const mcpCommand = (base: string): string => `claude mcp add --transport http convene ${base}/mcp`

function a2aCurl(base: string, message: Record<string, unknown>): string {
  const body = { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { role: 'user', messageId: 'm1', ...message } } }
  return `curl -s ${base}/a2a -H 'content-type: application/json' -d '${JSON.stringify(body)}'`
}

export const a2aCreate = (base: string, room: string, agent = 'alice'): string =>
  a2aCurl(base, { parts: [{ text: room }], metadata: { action: 'room.create', agentName: agent } })

export const a2aJoin = (base: string, room: string, agent = 'bob'): string =>
  a2aCurl(base, { contextId: room, parts: [{ text: '' }], metadata: { action: 'room.join', agentName: agent } })

export const gitClone = (base: string, room: string): string => `git clone ${base}/rooms/${room}`

export const sseCurl = (base: string, roomId: string): string => `curl -N '${base}/api/messages/${roomId}/sse?agentToken=<agentToken>'`
