/** TypeBox in place of the MCP SDK's default ajv validator, which it would build for every server (per session, per 2026 request). */
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/server'
import type { TObject } from 'typebox'
import { paramProblem } from '../../lib/actions/index.ts'
import { errors } from '../../lib/errors.ts'

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The SDK checks only elicitation replies with it (object schemas; this server asks for none), so the one
 * validator and wording of action parameters serve it too.
 */
export const schemaValidator: jsonSchemaValidator = {
  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    return (input) => {
      const problem = isRecord(input) ? paramProblem(schema as unknown as TObject, input) : errors.invalid('content', 'must be an object')
      return problem ? { valid: false, data: undefined, errorMessage: problem.message } : { valid: true, data: input as T, errorMessage: undefined }
    }
  },
}
