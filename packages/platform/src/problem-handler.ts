import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProblemError, buildProblem, type ProblemFieldError } from './problems.js';
import { RequestValidationError, fieldErrors, jsonPointer, locationOf } from './validation.js';

const BY_FASTIFY_CODE: Record<string, [number, string, string?]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'malformed-json'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'malformed-json', 'The body is empty.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'bad-request', 'The body length does not match Content-Length.'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload-too-large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported-media-type'],
  FST_ERR_BAD_URL: [400, 'bad-request', 'The URL is malformed.'],
};

const BY_STATUS: Record<number, string> = {
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  406: 'not-acceptable',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'rate-limited',
  503: 'not-ready',
};

export function sendProblem(reply: FastifyReply, err: ProblemError): FastifyReply {
  const problem = buildProblem(err.status, err.code, reply.request.id, err.detail, err.extras);
  if (err.status === 401) reply.header('www-authenticate', `Bearer error="invalid_token"`);
  return reply.code(err.status).type('application/problem+json').send(problem);
}

/**
 * Turns anything thrown into a problem. Only texts we wrote reach the client: Node's JSON parser,
 * pg and plugins put submitted values, SQL or paths in their messages.
 */
export function toProblemError(error: unknown): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  if (error instanceof RequestValidationError) {
    return new ProblemError(400, 'validation-failed', 'One or more fields are invalid.', {
      errors: fieldErrors(error.issues, locationOf(error.validationContext)),
    });
  }
  const e = error as Partial<FastifyError> & { validationContext?: string };
  if (Array.isArray(e.validation)) {
    const where = locationOf(e.validationContext);
    const errors: ProblemFieldError[] = e.validation.map((v) => ({
      pointer: v.instancePath ?? jsonPointer([]),
      in: where,
      code: v.keyword,
      message: 'Invalid value.',
    }));
    return new ProblemError(400, 'validation-failed', 'One or more fields are invalid.', { errors });
  }
  const mapped = e.code ? BY_FASTIFY_CODE[e.code] : undefined;
  if (mapped) return new ProblemError(mapped[0], mapped[1], mapped[2]);
  if (error instanceof SyntaxError && e.statusCode === 400) return new ProblemError(400, 'malformed-json');
  const status = e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = BY_STATUS[status];
    return code ? new ProblemError(status, code) : new ProblemError(400, 'bad-request');
  }
  if (status === 503) return new ProblemError(503, 'not-ready');
  return undefined;
}

export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const problem = toProblemError(error);
    if (problem) {
      if (problem.status >= 500) request.log.warn({ err: error }, 'request refused');
      return sendProblem(reply, problem);
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, new ProblemError(500, 'internal-error', 'Something failed on our side. Quote the requestId when reporting it.'));
  });

  app.setNotFoundHandler((request: FastifyRequest, reply) =>
    sendProblem(reply, new ProblemError(404, 'not-found', 'No such endpoint.')),
  );
}
