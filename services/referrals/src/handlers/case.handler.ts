import type { FastifyRequest } from 'fastify';
import { DomainError } from '@trm/contracts';
import { ConcurrencyError, type DbOrTx, type EventMetadata, type RecordedEvent } from '@trm/event-store';
import type { CaseState } from '../domain/case.state.js';
import { InformationItemsRefused } from '../domain/case.errors.js';
import { domainProblem, eventMetadata, ProblemError } from '@trm/platform';
import type { CaseCommand, CommandMetadata } from '../domain/case.decider.js';
import { projectCaseEvents } from '../projections/case.projection.js';
import { type PersonalDataRead, recordPersonalDataRead } from '../repositories/access-log.repository.js';
import type { ReferralsContext } from '../context.js';

export function metadataOf(request: FastifyRequest, now: Date): CommandMetadata {
  const p = request.principal;
  return { now, actor: p.subject, organisationId: p.orgId, organisationType: p.orgType };
}

/**
 * Every read of personal data is accounted for in the access log (who, which case, which purpose,
 * which fields on which legal basis, which withheld), on its own stream so that reading never changes the case's version (its ETag).
 * Repeats by the same actor within the policy window are counted and recorded as one event with
 * their count (see `recordPersonalDataRead`).
 */
export async function recordPersonalDataAccess(
  ctx: ReferralsContext,
  tx: DbOrTx,
  caseId: string,
  read: Omit<PersonalDataRead, 'caseId' | 'organisationId'>,
  request: FastifyRequest,
): Promise<void> {
  await recordPersonalDataRead(
    { store: ctx.store, schema: ctx.schema, windowMs: ctx.accessCoalesceSeconds * 1000 },
    tx,
    { caseId, organisationId: request.principal.orgId, ...read },
    eventMetadata(request),
    ctx.clock(),
  );
}

const ITEM_MESSAGES: Record<string, string> = {
  not_requested: 'not asked for in this request',
  present_and_not_readable: 'already in the file and not readable by your organisation: it cannot be written over',
};

/**
 * Load the case stream, decide, append and project, inside the caller's transaction.
 * `expected` is the client's If-Match version (412 on mismatch), or undefined to decide on the
 * current state (the stream is locked, so concurrent commands queue).
 */
export async function executeCaseCommand(
  ctx: ReferralsContext,
  tx: DbOrTx,
  caseId: string,
  command: CaseCommand,
  expected: number | 'any' | 'no_stream' | undefined,
  request: FastifyRequest,
): Promise<{ state: CaseState; version: number; events: RecordedEvent[] }> {
  try {
    return await runCaseCommand(ctx, tx, caseId, command, expected, eventMetadata(request));
  } catch (err) {
    if (err instanceof InformationItemsRefused) {
      // Each item named by a pointer into the body; the values are never repeated.
      throw new ProblemError(err.kind === 'invalid' ? 422 : 409, err.code, err.message, {
        unmet: [...err.unmet],
        errors: err.items.map((item) => ({ pointer: `/person/${item}`, in: 'body' as const, code: err.itemCode, message: ITEM_MESSAGES[err.itemCode] ?? 'refused' })),
      });
    }
    if (err instanceof DomainError) throw domainProblem(err);
    if (err instanceof ConcurrencyError) {
      if (typeof expected === 'number') throw new ProblemError(412, 'precondition-failed', 'The case changed since you read it: read it again and retry.');
      throw new ProblemError(409, 'concurrency-conflict', 'The case changed while your command ran: retry.');
    }
    throw err;
  }
}

/** The same without HTTP, for consumers and the scheduler: DomainError and ConcurrencyError propagate. */
export async function runCaseCommand(
  ctx: Pick<ReferralsContext, 'store' | 'decider' | 'schema'>,
  tx: DbOrTx,
  caseId: string,
  command: CaseCommand,
  expected: number | 'any' | 'no_stream' | undefined,
  metadata: EventMetadata,
): Promise<{ state: CaseState; version: number; events: RecordedEvent[] }> {
  if (expected === 'no_stream') {
    // A stream that cannot exist yet (a fresh UUIDv7 case id): nothing to lock or read, decide on
    // the initial state and append in one statement; the store's unique (stream, version) refuses
    // it with a ConcurrencyError should the stream exist after all.
    const initial = ctx.decider.initialState();
    const decided = ctx.decider.decide(command, initial);
    const appended = await ctx.store.append(tx, `case-${caseId}`, decided, { expectedVersion: 'no_stream', now: command.metadata.now, metadata });
    let state = initial;
    for (const event of appended.events) state = ctx.decider.evolve(state, event as unknown as Parameters<typeof ctx.decider.evolve>[1]);
    await projectCaseEvents(tx, ctx.schema, appended.events);
    return { state, version: appended.nextVersion, events: appended.events };
  }
  const result = await ctx.store.handleCommand(tx, `case-${caseId}`, ctx.decider, command, {
    ...(expected === undefined ? {} : { expectedVersion: expected }),
    now: command.metadata.now,
    metadata,
  });
  await projectCaseEvents(tx, ctx.schema, result.events);
  return { state: result.state, version: result.nextVersion, events: result.events };
}

/** The case as its stream says now (views fold it; the version is the ETag). */
export async function loadCase(ctx: Pick<ReferralsContext, 'store' | 'decider'>, db: DbOrTx, caseId: string): Promise<{ state: CaseState; version: number }> {
  return ctx.store.aggregateStream(db, `case-${caseId}`, ctx.decider);
}
