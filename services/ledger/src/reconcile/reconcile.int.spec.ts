import { type Db, createPgDb, migrate } from '@trm/db';
import { canonicalJson, createEventStore } from '@trm/event-store';
import { type TestDatabase, createTestDatabase } from '@trm/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reconcile } from './reconcile.js';

let tdb: TestDatabase;
let db: Db;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = createPgDb(tdb.url, { max: 2, applicationName: 'trm-test-ledger-reconcile' }).db;
  await migrate(db, { schema: 'ledger', service: 'ledger' });
  await migrate(db, { schema: 'svc' });
});
afterAll(async () => {
  await db?.destroy();
  await tdb?.drop();
});

/** Slips an entry into the ledger directly (as whoever runs the database could). */
async function slip(event: Record<string, unknown>): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const { rows } = await sql<{ i: string }>`update ledger.ledger_counter set next_index = next_index + 1 returning (next_index - 1)::text as i`.execute(tx);
    await sql`insert into ledger.ledger_entries (ledger_index, event_id, service, stream_id, stream_version, event_type, case_id, recorded_at, event, leaf_hash)
      values (${rows[0]!.i}::bigint, ${event.eventId as string}::uuid, 'svc', ${event.streamId as string}, ${event.streamVersion as number}, ${event.type as string},
              null, now(), ${canonicalJson(event)}, ${'0'.repeat(64)})`.execute(tx);
  });
}

it("recomputes hashes from content: an entry whose content changed but whose hash field is the service's differs (issue 15, finding 2)", async () => {
  const store = createEventStore({ schema: 'svc' });
  const { events } = await store.append(db, 'case-1', [{ type: 'CaseNoted', data: { caseId: 'case-1', sex: 'female' } }], {
    expectedVersion: 'no_stream',
    metadata: { actor: 'test', organisation: 'anitp', correlationId: 'c', causationId: null, requestId: null },
  });
  const real = events[0]!;
  // The hash field says what the service wrote; the content says something else.
  await slip({ ...real, service: 'svc', globalPosition: '1', transactionId: '1', data: { caseId: 'case-1', sex: 'male' } });
  const report = await reconcile(db, { ledgerSchema: 'ledger', services: ['svc'], graceMs: 0, now: new Date() });
  expect(report.ok).toBe(false);
  expect(report.services[0]!.differing.items.map((d) => d.eventId)).toEqual([real.eventId]);
});
