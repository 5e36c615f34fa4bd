/**
 * Request validation: two Ajv instances. Query strings and path params arrive as text, so
 * they are coerced to the schema's types (`?limit=5` is the integer 5). JSON bodies already
 * carry types, so they are not: `{"priority":"5"}` or `{"reason":5}` is a 400, not silently
 * converted. Unknown fields are refused, not stripped (schemas say additionalProperties:false).
 */
import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS with `exports.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const shared: Options = {
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
  // TypeBox adds its own annotation keys; they are not validation keywords.
  strict: false,
};

function ajv(options: Options): Ajv {
  const instance = new Ajv({ ...shared, ...options });
  addFormats(instance);
  return instance;
}

export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const coercing = ajv({ coerceTypes: 'array' });
  const exact = ajv({ coerceTypes: false });
  return ({ schema, httpPart }) =>
    (httpPart === 'body' ? exact : coercing).compile(schema as object) as ReturnType<
      FastifySchemaCompiler<unknown>
    >;
}
