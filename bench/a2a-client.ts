/** A pooled A2A client for benches: one SendMessage per call, errors thrown with the action's name. */
import { Pool } from 'undici'

export function a2aClient(url: string, connections: number) {
  const pool = new Pool(url, { connections, pipelining: 1 })
  const call = async (action: string, metadata: Record<string, unknown>, opts: { text?: string; contextId?: string } = {}) => {
    const payload = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'SendMessage',
      params: { message: { role: 'user', parts: [{ text: opts.text ?? '' }], ...(opts.contextId ? { contextId: opts.contextId } : {}), metadata: { action, ...metadata } } },
    })
    const res = await pool.request({ path: '/a2a', method: 'POST', headers: { 'content-type': 'application/json' }, body: payload })
    const json = (await res.body.json()) as any
    const r = json.result
    if (!r || r.parts[0].text.startsWith('Error')) throw new Error(`${action}: ${JSON.stringify(json).slice(0, 300)}`)
    return { text: r.parts[0].text as string, data: (r.parts[1]?.data ?? {}) as Record<string, any>, contextId: r.contextId as string }
  }
  return { call, close: () => pool.close() }
}
