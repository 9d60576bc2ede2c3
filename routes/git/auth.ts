// HTTP Basic credentials: any username, the room password as password.
export function basicPassword(header: string | undefined): string | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '')
  if (!m) return undefined
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : decoded.slice(colon + 1) || undefined
}

/** Room reference from the URL: `name`, `name.git` or the room UUID. */
export function roomRef(param: string): string {
  return param.endsWith('.git') ? param.slice(0, -4) : param
}
