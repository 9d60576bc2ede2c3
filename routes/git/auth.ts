// HTTP Basic credentials: the room password (any user name), or an agent's name and its agentToken.
export interface BasicCredentials {
  user: string
  password: string
}

/** The credentials of an `Authorization: Basic` header; undefined when absent, malformed or without a password. */
export function basicCredentials(header: string | undefined): BasicCredentials | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '')
  if (!m) return undefined
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0 || colon === decoded.length - 1) return undefined
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** Room reference from the URL: `name`, `name.git` or the room UUID. */
export function roomRef(param: string): string {
  return param.endsWith('.git') ? param.slice(0, -4) : param
}
