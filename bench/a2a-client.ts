/** A pooled A2A client for benches: one SendMessage per call, errors thrown with the action's name. */
import { httpPool } from './http-conn.ts'

export function a2aClient(url: string, connections: number) {
  const pool = httpPool(url, connections)
  const call = async (action: string, metadata: Record<string, unknown>, opts: { text?: string; contextId?: string } = {}) => {
    const payload = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'SendMessage',
      params: { message: { role: 'user', parts: [{ text: opts.text ?? '' }], ...(opts.contextId ? { contextId: opts.contextId } : {}), metadata: { action, ...metadata } } },
    })
    const res = await pool.post('/a2a', 'application/json', payload)
    const json = JSON.parse(res.body)
    const r = json.result
    if (!r || r.parts[0].text.startsWith('Error')) throw new Error(`${action}: ${res.body.slice(0, 300)}`)
    return { text: r.parts[0].text as string, data: (r.parts[1]?.data ?? {}) as Record<string, any>, contextId: r.contextId as string }
  }
  return { call, close: () => pool.close() }
}
