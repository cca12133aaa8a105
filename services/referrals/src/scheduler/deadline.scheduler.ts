import { DomainError } from '@trm/contracts';
import { ConcurrencyError, type EventMetadata } from '@trm/event-store';
import type { ReferralsContext } from '../context.js';
import { runCaseCommand } from '../handlers/case.handler.js';
import { findMissedDeadlines } from '../repositories/deadline.repository.js';
import { flushEndedAccessWindows } from '../repositories/access-log.repository.js';

export interface DeadlineScheduler {
  /** One pass: records DeadlineMissed for every deadline past due; returns how many this pass recorded. */
  scanOnce(): Promise<number>;
  /** One pass over the personal-data access windows that ended: records their repeated reads; returns how many events. */
  flushAccessOnce(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

const ACTOR = 'system:deadline-scheduler';

/**
 * Records `DeadlineMissed` from the deadlines table and the clock. Replicas may all run it: each
 * append names the case version it read (expected version) and the decider refuses a second
 * DeadlineMissed for the same deadline id, so a race records it once and the loser moves on.
 */
export function createDeadlineScheduler(
  ctx: ReferralsContext,
  opts: { intervalMs: number; batchSize?: number; onError?: (err: unknown) => void },
): DeadlineScheduler {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  /**
   * Appends with the version just read. Losing a race (ConcurrencyError) means the case moved:
   * read again and let the decider judge; it refuses a deadline another replica already recorded.
   */
  async function recordMissed(caseId: string, deadlineId: string, now: Date): Promise<boolean> {
    const metadata: EventMetadata = { actor: ACTOR, organisation: 'system', correlationId: `deadline:${caseId}:${deadlineId}`, causationId: null, requestId: null };
    for (let attempt = 1; attempt <= 3; attempt++) {
      const version = await ctx.store.streamVersion(ctx.db, `case-${caseId}`);
      try {
        await ctx.db.transaction().execute((tx) =>
          runCaseCommand(
            ctx,
            tx,
            caseId,
            { type: 'RecordDeadlineMissed', data: { deadlineId }, metadata: { now, actor: ACTOR, organisationId: 'system', organisationType: null } },
            version,
            metadata,
          ),
        );
        ctx.committed();
        return true;
      } catch (err) {
        if (err instanceof DomainError) return false;
        if (err instanceof ConcurrencyError) continue;
        throw err;
      }
    }
    // Still contended: the next pass tries again.
    return false;
  }

  async function scanOnce(): Promise<number> {
    const now = ctx.clock();
    const due = await findMissedDeadlines(ctx.db, ctx.schema, now, opts.batchSize ?? 100);
    let recorded = 0;
    for (const d of due) {
      if (await recordMissed(d.caseId, d.deadlineId, now)) recorded++;
    }
    return recorded;
  }

  async function flushAccessOnce(): Promise<number> {
    let recorded = 0;
    for (;;) {
      const n = await flushEndedAccessWindows(ctx, ctx.clock(), opts.batchSize ?? 100);
      recorded += n;
      if (n === 0) break;
      ctx.committed();
    }
    return recorded;
  }

  const tick = () => {
    if (running) return;
    running = scanOnce()
      .then(async (n) => (await flushAccessOnce(), n))
      .catch((err) => {
        opts.onError?.(err);
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
  };

  return {
    scanOnce,
    flushAccessOnce,
    start() {
      if (!timer) timer = setInterval(tick, opts.intervalMs);
      timer.unref?.();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
