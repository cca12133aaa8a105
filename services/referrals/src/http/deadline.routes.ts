import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decodeCursor, encodeCursor } from '@trm/platform';
import type { ReferralsContext } from '../context.js';
import { listOpenDeadlines } from '../repositories/deadline.repository.js';
import { DeadlineList } from './case-views.schemas.js';

const Query = z.strictObject({
  state: z.enum(['due', 'ending_soon', 'overdue']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(300).optional(),
});
const Cursor = z.object({ dueAt: z.string(), caseId: z.uuid(), deadlineId: z.string() });
const DAY_MS = 86_400_000;

export async function deadlineRoutes(app: FastifyInstance, ctx: ReferralsContext): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/deadlines',
    {
      config: { access: { roles: ['case_officer', 'notifier', 'child_protection_officer'] } },
      schema: {
        tags: ['deadlines'],
        summary: 'Your due and overdue items',
        description:
          'Open deadlines your organisation must act on (the contact points: every deadline of their cases), soonest first: a child’s case for child protection to acknowledge (`child_protection`, *policy* 24 hours; the contact point’s until it chooses child protection when no route applies), acknowledgement (*policy* 2 days), answers to requests for information (*policy* 7 days), reflection periods (`ending_soon` within *policy* 5 days, `overdue` once ended without a decision). `missedRecorded` says the scheduler recorded `DeadlineMissed`.',
        querystring: Query,
        response: { 200: DeadlineList },
      },
    },
    async (request) => {
      const q = request.query;
      const now = ctx.clock();
      const after = q.cursor ? decodeCursor(q.cursor, Cursor) : undefined;
      const warnUntil = new Date(now.getTime() + ctx.views.reflectionWarningDays * DAY_MS);
      const rows = await listOpenDeadlines(ctx.db, ctx.schema, request.principal.orgId, { now, warnUntil, state: q.state, after, limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return {
        items: page.map((d) => ({
          caseId: d.caseId,
          deadlineId: d.deadlineId,
          kind: d.kind,
          dueAt: d.dueAt,
          state: d.dueAt < now.toISOString() ? ('overdue' as const) : d.kind === 'reflection_period' && d.dueAt <= warnUntil.toISOString() ? ('ending_soon' as const) : ('due' as const),
          missedRecorded: d.missedRecorded,
        })),
        nextCursor: rows.length > q.limit && last ? encodeCursor({ dueAt: last.dueAt, caseId: last.caseId, deadlineId: last.deadlineId }) : null,
      };
    },
  );
}
