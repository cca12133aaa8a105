import type { FastifyRequest } from 'fastify';
import { DomainError } from '@trm/contracts';
import { ConcurrencyError, type DbOrTx } from '@trm/event-store';
import { domainProblem, eventMetadata, ProblemError } from '@trm/platform';
import type { CaseFacts, CommandMetadata } from '../domain/case-facts.js';
import type { ReturnCommand, ReturnState } from '../domain/return.decider.js';
import { projectReturn } from '../projections/return.projection.js';
import type { RepatriationContext } from '../context.js';

export function metadataOf(request: FastifyRequest, now: Date, facts: CaseFacts): CommandMetadata {
  const p = request.principal;
  return { now, actor: p.subject, organisationId: p.orgId, organisationType: p.orgType, case: facts };
}

/**
 * Load the return stream, decide, append and project, inside the caller's transaction.
 * `expected` is the client's If-Match version (412 on mismatch).
 */
export async function executeReturnCommand(
  ctx: RepatriationContext,
  tx: DbOrTx,
  returnId: string,
  command: ReturnCommand,
  expected: number | undefined,
  request: FastifyRequest,
): Promise<{ state: ReturnState; version: number }> {
  try {
    const result = await ctx.store.handleCommand(tx, `return-${returnId}`, ctx.decider, command, {
      ...(expected === undefined ? {} : { expectedVersion: expected }),
      now: command.metadata.now,
      metadata: eventMetadata(request),
    });
    await projectReturn(tx, ctx.schema, result.state, result.events);
    return { state: result.state, version: result.nextVersion };
  } catch (err) {
    if (err instanceof DomainError) throw domainProblem(err);
    if (err instanceof ConcurrencyError) {
      if (typeof expected === 'number') throw new ProblemError(412, 'precondition-failed', 'The return changed since you read it: read it again and retry.');
      throw new ProblemError(409, 'concurrency-conflict', 'The return changed while your command ran: retry.');
    }
    throw err;
  }
}
