import { randomUUID } from 'node:crypto';
import { type Db, createPgDb, migrate } from '@trm/db';
import type { EventEnvelope } from '@trm/contracts';
import { computeEventHash } from '@trm/event-store';
import { type TestDatabase, createTestDatabase } from '@trm/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEntries, ledgerSize } from './ledger.repository.js';

let tdb: TestDatabase;
let db: Db;
const SCHEMA = 'ledger';

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = createPgDb(tdb.url, { max: 2, applicationName: 'trm-test-ledger-ingest' }).db;
  await migrate(db, { schema: SCHEMA, service: 'ledger' });
});
afterAll(async () => {
  await db?.destroy();
  await tdb?.drop();
});

/** A correctly hashed event of `streamId` at `version`, following `prev` (null for version 1). */
function event(streamId: string, version: number, prevHash: string | null, data: Record<string, unknown> = { caseId: streamId }): EventEnvelope {
  const e = {
    service: 'referrals' as const,
    eventId: randomUUID(),
    type: 'CaseNoted',
    schemaVersion: 1,
    streamId,
    streamVersion: version,
    globalPosition: String(version),
    transactionId: '1',
    data,
    metadata: { actor: 'system', organisation: 'anitp', correlationId: randomUUID(), causationId: null, requestId: null },
    recordedAt: '2026-12-04T10:00:00.000Z',
    prevHash,
    hash: '',
  };
  e.hash = computeEventHash(prevHash, e);
  return e;
}

const append = (events: EventEnvelope[]) => db.transaction().execute((tx) => appendEntries(tx, SCHEMA, events));

describe('the ledger signs only what was written (issue 15, finding 2)', () => {
  it('indexes a stream whose events match their hashes and chain, across batches', async () => {
    const s = `case-${randomUUID()}`;
    const v1 = event(s, 1, null);
    const v2 = event(s, 2, v1.hash);
    const v3 = event(s, 3, v2.hash);
    const before = await ledgerSize(db, SCHEMA);
    await append([v1, v2]);
    await append([v3]);
    expect(await ledgerSize(db, SCHEMA)).toBe(before + 3);
  });

  it('refuses an event that does not match its own hash, and indexes nothing of its batch', async () => {
    const s = `case-${randomUUID()}`;
    const good = event(s, 1, null);
    const forged = { ...event(s, 2, good.hash), data: { caseId: s, forged: true } };
    const before = await ledgerSize(db, SCHEMA);
    await expect(append([good, forged])).rejects.toThrow(/does not match its own hash/);
    expect(await ledgerSize(db, SCHEMA)).toBe(before);
  });

  it("refuses an event whose prevHash is not the previous version's hash (self-consistent hash)", async () => {
    const s = `case-${randomUUID()}`;
    const v1 = event(s, 1, null);
    await append([v1]);
    const broken = event(s, 2, 'ab'.repeat(32));
    await expect(append([broken])).rejects.toThrow(/does not follow version 1/);
    const inBatch = [event(s, 2, v1.hash)];
    inBatch.push(event(s, 3, 'cd'.repeat(32)));
    await expect(append(inBatch)).rejects.toThrow(/does not follow version 2/);
  });

  it('refuses a first version with a prevHash, and a version whose predecessor the ledger does not hold', async () => {
    const s = `case-${randomUUID()}`;
    await expect(append([event(s, 1, 'ab'.repeat(32))])).rejects.toThrow(/first event of its stream/);
    await expect(append([event(s, 2, 'ab'.repeat(32))])).rejects.toThrow(/version 1 .*not in the ledger/);
  });

  it('raises a fork when a second, different event arrives for a version the ledger holds', async () => {
    const s = `case-${randomUUID()}`;
    const v1 = event(s, 1, null);
    await append([v1]);
    const other = event(s, 1, null, { caseId: s, other: true });
    await expect(append([other])).rejects.toThrow(/fork/);
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ledger.ledger_entries where stream_id = ${s}`.execute(db);
    expect(rows[0]!.n).toBe('1');
  });
});
