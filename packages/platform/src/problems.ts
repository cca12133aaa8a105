export interface ProblemCodeDefinition {
  status: number;
  title: string;
  /** Human description served at /problems/<code>: when it happens and what the caller can do. */
  description: string;
}

export interface ProblemFieldError {
  /** JSON pointer (RFC 6901) into the part of the request named by `in`. */
  pointer: string;
  in?: 'body' | 'query' | 'params' | 'headers';
  code: string;
  message: string;
}

/** RFC 9457 body with our extension members `code`, `requestId` and `errors`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  requestId: string;
  errors?: ProblemFieldError[];
  [extension: string]: unknown;
}

const CODE_FORMAT = /^[a-z][a-z0-9-]{1,62}$/;
const codes = new Map<string, ProblemCodeDefinition>();

/**
 * Adds problem codes to the process-wide catalogue served at /problems/<code>. Registering the
 * same code twice is allowed only with the same status, so two services cannot give one code
 * two meanings.
 */
export function registerProblemCodes(defs: Record<string, ProblemCodeDefinition>): void {
  for (const [code, def] of Object.entries(defs)) {
    if (!CODE_FORMAT.test(code)) throw new Error(`Problem code ${JSON.stringify(code)} must be lower-kebab`);
    if (!Number.isInteger(def.status) || def.status < 400 || def.status > 599) {
      throw new Error(`Problem code ${code}: status ${def.status} is not an error status`);
    }
    const existing = codes.get(code);
    if (existing && existing.status !== def.status) {
      throw new Error(`Problem code ${code} is already registered with status ${existing.status}`);
    }
    codes.set(code, def);
  }
}

export function problemCode(code: string): ProblemCodeDefinition | undefined {
  return codes.get(code);
}

export function problemCodes(): ReadonlyMap<string, ProblemCodeDefinition> {
  return codes;
}

export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  /** Read by Fastify and by plugins that look at `statusCode`. */
  readonly statusCode: number;

  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail?: string,
    readonly extras: { errors?: ProblemFieldError[]; instance?: string; [extension: string]: unknown } = {},
  ) {
    super(detail ?? code);
    this.statusCode = status;
  }
}

export function notFound(what = 'resource'): ProblemError {
  return new ProblemError(404, 'not-found', `No such ${what}.`);
}

export function forbidden(detail = 'Your role does not allow this action.'): ProblemError {
  return new ProblemError(403, 'forbidden', detail);
}

export function preconditionFailed(currentVersion?: number): ProblemError {
  return new ProblemError(
    412,
    'precondition-failed',
    'The resource changed since you read it: fetch it again and retry with its current ETag.',
    currentVersion === undefined ? {} : { currentVersion },
  );
}

export function buildProblem(
  status: number,
  code: string,
  requestId: string,
  detail?: string,
  extras: Record<string, unknown> = {},
): Problem {
  const def = codes.get(code);
  return {
    ...extras,
    type: `/problems/${code}`,
    title: def?.title ?? code,
    status,
    detail: detail ?? def?.title ?? code,
    code,
    requestId,
  };
}

registerProblemCodes({
  'validation-failed': {
    status: 400,
    title: 'The request is not valid',
    description:
      'A field of the body, query or path is missing, has the wrong type or format, or is not allowed. ' +
      '`errors` lists a JSON pointer to each offending field. Unknown fields are refused, not ignored. Nothing was written.',
  },
  'malformed-json': {
    status: 400,
    title: 'The body is not valid JSON',
    description: 'The request declared a JSON body that could not be parsed. Nothing was written.',
  },
  'bad-request': {
    status: 400,
    title: 'Bad request',
    description: 'The request could not be understood. Nothing was written.',
  },
  'invalid-if-match': {
    status: 400,
    title: 'Malformed If-Match header',
    description: 'If-Match must be exactly one strong ETag as returned by this API, e.g. `"3"`.',
  },
  'invalid-cursor': {
    status: 400,
    title: 'Malformed pagination cursor',
    description: 'Pass back the `nextCursor` value of the previous page unchanged.',
  },
  'invalid-idempotency-key': {
    status: 400,
    title: 'Malformed Idempotency-Key header',
    description: 'An Idempotency-Key is 1 to 255 printable ASCII characters, sent once. A UUID is a good choice.',
  },
  unauthenticated: {
    status: 401,
    title: 'Authentication required',
    description: 'Send `Authorization: Bearer <token>` with a token issued for this API.',
  },
  'invalid-token': {
    status: 401,
    title: 'The bearer token was refused',
    description:
      'The token is expired, not yet valid, signed with an unknown key or a disallowed algorithm, issued for another ' +
      'audience or by another issuer, or lacks a required claim (exp, iat, iss, aud, sub, org, org_type, roles).',
  },
  'unknown-organisation': {
    status: 401,
    title: 'Unknown or inactive organisation',
    description:
      'The organisation named by the token is not registered, has been deactivated, or its registered type differs from the ' +
      'token\'s `org_type`.',
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    description: 'None of your roles allows this action.',
  },
  'not-found': {
    status: 404,
    title: 'Not found',
    description: 'The resource does not exist, or your organisation does not take part in it.',
  },
  'not-acceptable': {
    status: 406,
    title: 'Not acceptable',
    description: 'The API cannot produce a representation matching the Accept header.',
  },
  'idempotency-key-in-use': {
    status: 409,
    title: 'A request with this Idempotency-Key is in progress',
    description: 'Another request with the same key is being processed. Retry after it completes to get its answer.',
  },
  'precondition-failed': {
    status: 412,
    title: 'Precondition failed',
    description: 'The If-Match ETag is not the current version. Read the resource again and retry.',
  },
  'payload-too-large': {
    status: 413,
    title: 'Body too large',
    description: 'The request body exceeds the size this API accepts.',
  },
  'unsupported-media-type': {
    status: 415,
    title: 'Unsupported media type',
    description: 'Send bodies as `application/json`.',
  },
  'idempotency-key-reused': {
    status: 422,
    title: 'Idempotency-Key reused with a different request',
    description:
      'This key was already used by your organisation for a different request (method, URL or body). Use a new key for a new request.',
  },
  'precondition-required': {
    status: 428,
    title: 'If-Match required',
    description: 'This change needs the `If-Match` header with the ETag you last read, so concurrent edits are not lost.',
  },
  'rate-limited': {
    status: 429,
    title: 'Too many requests',
    description: 'Your organisation sent more requests than allowed in the time window. Retry after the `Retry-After` seconds.',
  },
  'internal-error': {
    status: 500,
    title: 'Internal error',
    description: 'Something failed on our side. Quote the requestId when reporting it.',
  },
  overloaded: {
    status: 503,
    title: 'Service overloaded',
    description:
      'The process is saturated (event loop delay or memory above its limits) and sheds load rather than answer late. ' +
      'Nothing was written. Retry after the `Retry-After` seconds.',
  },
  'not-ready': {
    status: 503,
    title: 'Service not ready',
    description: 'A dependency of the service is unavailable. `failed` names which.',
  },
  'auth-unavailable': {
    status: 503,
    title: 'Authentication temporarily unavailable',
    description: 'The keys that verify tokens could not be obtained, so no request is let through. Retry later.',
  },
});
