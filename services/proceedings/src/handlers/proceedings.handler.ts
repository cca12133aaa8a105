import type { FastifyRequest } from 'fastify';
import { DomainError } from '@trm/contracts';
import { ConcurrencyError, type DbOrTx } from '@trm/event-store';
import { domainProblem, eventMetadata, notFound, ProblemError } from '@trm/platform';
import type { ProceedingsContext } from '../context.js';
import type { CommandMetadata, ProceedingsCommand, ProceedingsState } from '../domain/proceedings.decider.js';
import { projectProceedingsEvents } from '../projections/proceedings.projection.js';
import { type CaseAccess, accessOf } from '../repositories/case-facts.repository.js';

export const streamOf = (caseId: string) => `proceedings-${caseId}`;
export const accessStreamOf = (caseId: string) => `proceedings-access-${caseId}`;

/** The caller's standing in the case; 404, exactly as for a case that does not exist, when it has none. */
export async function visibleOr404(ctx: ProceedingsContext, tx: DbOrTx, caseId: string, request: FastifyRequest): Promise<CaseAccess> {
  const access = await accessOf(tx, ctx.schema, caseId, request.principal);
  if (!access.visible) throw notFound('case');
  return access;
}

export function metadataOf(request: FastifyRequest, now: Date, access: CaseAccess): CommandMetadata {
  const p = request.principal;
  return { now, actor: p.subject, organisationId: p.orgId, organisationType: p.orgType, capacities: access.capacities, organisationCountry: p.country };
}

/**
 * Load the case's proceedings stream, decide, append and project, inside the caller's
 * transaction. `expected` is the client's If-Match version (412 on mismatch).
 */
export async function executeProceedingsCommand(
  ctx: ProceedingsContext,
  tx: DbOrTx,
  caseId: string,
  command: ProceedingsCommand,
  expected: number | undefined,
  request: FastifyRequest,
): Promise<{ state: ProceedingsState; version: number }> {
  try {
    const result = await ctx.store.handleCommand(tx, streamOf(caseId), ctx.decider, command, {
      ...(expected === undefined ? {} : { expectedVersion: expected }),
      now: command.metadata.now,
      metadata: eventMetadata(request),
    });
    await projectProceedingsEvents(tx, ctx.schema, caseId, result.events, result.state, result.nextVersion);
    return { state: result.state, version: result.nextVersion };
  } catch (err) {
    if (err instanceof DomainError) throw domainProblem(err);
    if (err instanceof ConcurrencyError) {
      if (typeof expected === 'number') throw new ProblemError(412, 'precondition-failed', 'The proceedings changed since you read them: read them again and retry.');
      throw new ProblemError(409, 'concurrency-conflict', 'The proceedings changed while your command ran: retry.');
    }
    throw err;
  }
}
