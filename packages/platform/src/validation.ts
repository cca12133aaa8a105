import type { FastifySchemaCompiler } from 'fastify';
import { safeParse, type $ZodIssue, type $ZodType } from 'zod/v4/core';
import type { ProblemFieldError } from './problems.js';

/**
 * Carries zod issues to the error handler untouched, so pointers are built from the real path
 * (with RFC 6901 escaping) rather than from a pre-joined string.
 */
export class RequestValidationError extends Error {
  override readonly name = 'RequestValidationError';
  readonly statusCode = 400;
  validationContext?: string;

  constructor(readonly issues: readonly $ZodIssue[]) {
    super('Request validation failed');
  }
}

export const validatorCompiler: FastifySchemaCompiler<$ZodType> =
  ({ schema }) =>
  (data) => {
    const result = safeParse(schema, data);
    return result.success ? { value: result.data } : { error: new RequestValidationError(result.error.issues) };
  };

export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((p) => '/' + String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

const LOCATION: Record<string, ProblemFieldError['in']> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

export function locationOf(validationContext: string | undefined): ProblemFieldError['in'] {
  return (validationContext && LOCATION[validationContext]) || 'body';
}

/**
 * Messages are written from the issue's code and schema-side parameters only. The submitted
 * value may be personal data, and a custom zod error map could interpolate it, so zod's own
 * message is used only for `custom` issues, whose text our services write.
 */
export function fieldErrors(issues: readonly $ZodIssue[], where: ProblemFieldError['in']): ProblemFieldError[] {
  const out: ProblemFieldError[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ pointer: jsonPointer([...issue.path, key]), in: where, code: 'unrecognized_key', message: 'Unknown field.' });
      }
      continue;
    }
    out.push({ pointer: jsonPointer(issue.path), in: where, code: issue.code, message: describe(issue) });
  }
  return out;
}

function describe(issue: $ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `Expected ${issue.expected}.`;
    case 'too_small':
      return `Too small: expected ${issue.origin === 'string' ? 'length' : issue.origin === 'array' ? 'item count' : 'value'} ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}.`;
    case 'too_big':
      return `Too big: expected ${issue.origin === 'string' ? 'length' : issue.origin === 'array' ? 'item count' : 'value'} ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}.`;
    case 'invalid_format':
      return `Invalid format: expected ${issue.format}.`;
    case 'not_multiple_of':
      return `Expected a multiple of ${String(issue.divisor)}.`;
    case 'invalid_value':
      // Long closed lists (countries, currencies) are named by size: the schema has them all.
      if (issue.values.length > 20) return `Expected one of the ${issue.values.length} allowed values (see the OpenAPI schema).`;
      return `Expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`;
    case 'invalid_union':
      return 'Does not match any allowed shape.';
    case 'invalid_key':
      return 'Invalid key.';
    case 'invalid_element':
      return 'Invalid element.';
    case 'custom':
      return issue.message;
    default:
      return 'Invalid value.';
  }
}
