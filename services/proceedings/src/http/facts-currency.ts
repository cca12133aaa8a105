import type { FastifyReply } from 'fastify';
import { ProblemError } from '@trm/platform';
import type { DbOrTx } from '@trm/event-store';
import { sql } from 'kysely';
import type { ProceedingsContext } from '../context.js';

/**
 * Proceedings learns who takes part in a case, and as what, from referrals' events on the bus
 * (`case_parties`). Personal data served on those facts (a criminal case's reference) is served
 * only while they are as current as referrals' own record of the case: the version of the case
 * stream (`case-<caseId>`) the consumer has applied (`consumer_streams`) must be referrals' latest.
 * So a removal, an erasure or a consent withdrawal committed in referrals takes effect here from
 * the first request after it commits, not whenever the bus delivers it: until the consumer has
 * applied it, the read is refused (503 `case-facts-behind`, `Retry-After`). Referrals' events
 * table is read through the consumer's own source (`EventSource`), as for a gap.
 */
export async function caseFactsBehind(ctx: Pick<ProceedingsContext, 'facts' | 'schema'>, db: DbOrTx, caseId: string): Promise<boolean> {
  const streamId = `case-${caseId}`;
  const { rows } = await sql<{ version: number }>`
    select version from ${sql.table(`${ctx.schema}.consumer_streams`)}
    where consumer = ${ctx.facts.consumer} and source = 'referrals' and stream_id = ${streamId}`.execute(db);
  const applied = rows[0]?.version ?? 0;
  // The next version exists at the source: the facts lag behind it.
  const next = await ctx.facts.source.read(db as never, 'referrals', [{ streamId, after: applied, upTo: applied + 1 }]);
  return next.length > 0;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits up to `ctx.facts.waitMs` for the facts to catch up (outside any transaction), then
 * checks again inside the caller's read transaction, which decides: refused while they lag.
 */
export async function awaitCurrentCaseFacts(ctx: Pick<ProceedingsContext, 'facts' | 'schema' | 'db'>, caseId: string): Promise<void> {
  const until = Date.now() + ctx.facts.waitMs;
  while ((await caseFactsBehind(ctx, ctx.db, caseId)) && Date.now() < until) await pause(50);
}

export async function requireCurrentCaseFacts(ctx: Pick<ProceedingsContext, 'facts' | 'schema'>, tx: DbOrTx, caseId: string, reply: Pick<FastifyReply, 'header'>): Promise<void> {
  if (await caseFactsBehind(ctx, tx, caseId)) {
    reply.header('retry-after', '1');
    throw new ProblemError(503, 'case-facts-behind', 'This service has not yet learnt the latest changes to the case: try again shortly.');
  }
}
