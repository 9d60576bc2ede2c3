/** The JSON body of every HTTP error reply outside JSON-RPC, as a reply schema for the routes that declare one. */
import { Type, type Static } from 'typebox'

/**
 * `{error, message}`: from the routes, the app's error handler and the overload guard; @fastify/sse's 406 adds
 * `statusCode`. Reply schemas serialize only the fields they list, so this lists all three.
 */
export const ErrorReply = Type.Object({
  statusCode: Type.Optional(Type.Integer()),
  error: Type.String(),
  message: Type.String(),
})

export type ErrorReply = Static<typeof ErrorReply>
