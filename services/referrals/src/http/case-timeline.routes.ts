import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { routeAccess } from '@trm/contracts';
import { decodeCursor, encodeCursor, notFound } from '@trm/platform';
import type { RecordedEvent } from '@trm/event-store';
import type { ReferralsContext } from '../context.js';
import { findCaseForOrganisation } from '../repositories/case.repository.js';
import { timelineEntryOf, timelineViewerOf } from './case-access.js';
import { CaseIdParams } from './case.schemas.js';
import { Timeline, TimelineQuery } from './case-views.schemas.js';

/** Versions of the case stream and of its access stream already returned. */
const Cursor = z.object({ c: z.number().int().min(0), a: z.number().int().min(0) });

/**
 * At most this many events are read for one page: a participant that sees few entries gets a
 * short (even empty) page with a cursor rather than a read of the whole stream.
 */
const SCAN_FACTOR = 4;
const MIN_SCAN = 200;

export async function caseTimelineRoutes(app: FastifyInstance, ctx: ReferralsContext): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/cases/:caseId/timeline',
    {
      config: { access: routeAccess('GET /v1/cases/:caseId/timeline') },
      schema: {
        tags: ['cases'],
        summary: 'The events of the case your purpose may see, in order, a page at a time',
        description:
          'The coordinating contact point sees every event with its details, the user who acted and every recorded read of personal data. Any other participant sees its own acts and the entries the access matrix gives its purpose (docs/ACCESS.md, referrals: timeline), with details only where its purpose needs them, and the acting organisation only when it works with it. ' +
          'Pass `nextCursor` back as `cursor` for the next page; a page may hold fewer entries than `limit` (even none) while `nextCursor` is set, because at most a bounded number of events is read per page. `nextCursor` is null at the end.',
        params: CaseIdParams,
        querystring: TimelineQuery,
        response: { 200: Timeline },
      },
    },
    async (request) => {
      const { caseId } = request.params;
      const orgId = request.principal.orgId;
      const { limit } = request.query;
      const cursor = request.query.cursor ? decodeCursor(request.query.cursor, Cursor) : { c: 0, a: 0 };
      const scanBudget = Math.max(MIN_SCAN, limit * SCAN_FACTOR);
      return ctx.db.transaction().execute(async (tx) => {
        const record = await findCaseForOrganisation(tx, ctx.schema, caseId, orgId);
        if (!record) throw notFound('case');
        const viewer = await timelineViewerOf(tx, ctx.schema, record, orgId);
        const full = viewer.full;
        const entryOf = (e: RecordedEvent) => timelineEntryOf(viewer, e);

        // Both streams (the access stream only for the contact points), merged in global order a
        // bounded chunk at a time; the cursor keeps each stream's version, so an event committed
        // late in one stream is never skipped.
        const streams = [
          { id: `case-${caseId}`, after: cursor.c, buffer: [] as RecordedEvent[], ended: false },
          ...(full ? [{ id: `case-access-${caseId}`, after: cursor.a, buffer: [] as RecordedEvent[], ended: false }] : [{ id: '', after: cursor.a, buffer: [], ended: true }]),
        ];
        const chunk = Math.min(limit + 1, scanBudget);
        const entries: Array<NonNullable<ReturnType<typeof entryOf>>> = [];
        let scanned = 0;
        for (;;) {
          for (const s of streams) {
            if (s.buffer.length > 0 || s.ended) continue;
            const from = s.after + 1;
            s.buffer = await ctx.store.readStream(tx, s.id, { fromVersion: from, toVersion: from + chunk - 1 });
            if (s.buffer.length < chunk) s.ended = true;
          }
          const live = streams.filter((s) => s.buffer.length > 0);
          if (live.length === 0) return { caseId, entries, nextCursor: null };
          if (entries.length >= limit || scanned >= scanBudget) break;
          const next = live.reduce((a, b) => (BigInt(a.buffer[0]!.globalPosition) <= BigInt(b.buffer[0]!.globalPosition) ? a : b));
          const e = next.buffer.shift()!;
          next.after = e.streamVersion;
          scanned++;
          const entry = entryOf(e);
          if (entry) entries.push(entry);
        }
        return { caseId, entries, nextCursor: encodeCursor({ c: streams[0]!.after, a: streams[1]!.after }) };
      });
    },
  );
}
