import { DomainError, type EventEnvelope } from '@trm/contracts';
import type { FastifyRequest } from 'fastify';
import { ProblemError } from './problems.js';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Who did it and why, for every event a request appends. Never personal data. */
export function eventMetadata(request: FastifyRequest): EventEnvelope['metadata'] {
  const given = request.headers['x-correlation-id'];
  return {
    actor: request.principal.subject,
    organisation: request.principal.orgId,
    // A caller-supplied correlation id is kept only when it cannot carry anything but an id.
    correlationId: typeof given === 'string' && SAFE_ID.test(given) ? given : request.id,
    causationId: null,
    requestId: request.id,
  };
}

const STATUS = { conflict: 409, invalid: 422, not_found: 404, forbidden: 403 } as const;

/** A decider's refusal as a problem naming every unmet condition; nothing was written. */
export function domainProblem(err: DomainError): ProblemError {
  return new ProblemError(STATUS[err.kind], err.code, err.message, err.unmet.length > 0 ? { unmet: [...err.unmet] } : {});
}

export { DomainError };
