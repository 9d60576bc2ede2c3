/** The token of an `Authorization: Bearer <token>` header (any case, one token), or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null
  return m ? m[1]! : null
}
