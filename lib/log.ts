/** Query parameters and headers that carry secrets; never logged. */
const SECRET_PARAMS = /([?&](?:agentToken|password|token)=)[^&#]*/gi

export const redactUrl = (url: string): string => url.replace(SECRET_PARAMS, '$1[redacted]')

/** pino options for the server: JSON, pretty on a terminal, secrets redacted. */
export function loggerOptions(level: string, pretty = process.stdout.isTTY === true) {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["mcp-session-id"]',
        '*.agentToken',
        '*.password',
        '*.*.agentToken',
        '*.*.password',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req(req: { id?: unknown; method?: string; url?: string; hostname?: string; ip?: string }) {
        return { id: req.id, method: req.method, url: redactUrl(req.url ?? ''), host: req.hostname, remoteAddress: req.ip }
      },
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  }
}
