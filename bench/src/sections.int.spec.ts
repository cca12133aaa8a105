import { connectJetStreamBus } from '@trm/bus';
import { createPgDb } from '@trm/db';
import { type TestDatabase, createTestDatabase, natsUrl, randomSuffix } from '@trm/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENDERS, runAppendBench } from './append.bench.js';
import { runHttpBench } from './http.bench.js';
import { silentProgress } from './progress.js';
import { runReplayBench } from './replay.bench.js';

// Each section, tiny, on real PostgreSQL and JetStream: the harness measures what it claims to.
// No figure is asserted: speed never fails a test.
let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase('trm_bench_test');
});

afterAll(async () => {
  await testDb?.drop();
});

describe('append section', () => {
  it('runs TRM, Emmett and raw INSERT on one database and finds in each store exactly the events it counted', async () => {
    const r = await runAppendBench(testDb.url, { rounds: 1, slotMs: 150, writers: [1, 3] }, silentProgress);
    expect(r.verified).toBe(true);
    for (const scenario of ['new_stream', 'existing_stream_10'] as const) {
      for (const writers of ['c1', 'c3']) {
        const row = r.scenarios[scenario][writers]!;
        for (const c of CONTENDERS) expect(row[c].appends, `${scenario} ${writers} ${c}`).toBeGreaterThan(0);
      }
    }
    expect(Object.keys(r.ratio_vs_emmett)).toEqual(['c1', 'c3']);
    const { db } = createPgDb(testDb.url, { max: 1 });
    // The ten-event appends kept each stream's chain and versions whole.
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from bench_trm.events e
      where e.stream_version > 1 and e.prev_hash is null`.execute(db);
    await db.destroy();
    expect(rows[0]!.n).toBe('0');
  });
});

describe('replay section', () => {
  it('generates chained events that verify, and rebuilds every case of the projection from them', async () => {
    const replayDb = await createTestDatabase('trm_bench_test_replay');
    try {
      const r = await runReplayBench(replayDb.url, { events: 400, maxSeconds: 60, statisticsEvents: 100, ledgerEvents: 60 }, silentProgress);
      expect(r.events).toBe(400);
      expect(r.verify).toMatchObject({ ok: true, events: 400 });
      expect(r.projection).toMatchObject({ complete: true, events: 400 });
      // Statistics read every generated event of the first part; none was beyond its parser.
      expect(r.statistics).toMatchObject({ events: 100, unparsed: 0 });
      // The ledger recorded the first 60 events, each reconciled with its event, and its root rebuilt.
      expect(r.ledger).toMatchObject({ entries: 60, reconcile: { ok: true } });
      expect(r.ledger?.merkle_root.entries_per_s).toBeGreaterThan(0);
      const { db } = createPgDb(replayDb.url, { max: 1 });
      const { rows } = await sql<{ status: string; n: string }>`
        select status, count(*)::text as n from referrals.cases group by status`.execute(db);
      const participants = await sql<{ n: string }>`select count(*)::text as n from referrals.case_participants`.execute(db);
      await db.destroy();
      expect(rows).toEqual([{ status: 'acknowledged', n: '200' }]);
      // notifier, national contact point and regional centre of each case.
      expect(participants.rows[0]!.n).toBe('600');
    } finally {
      await replayDb.drop();
    }
  });
});

describe('HTTP section', () => {
  it('drives the distributed referrals service and sees every notified case reach the consumer', async () => {
    const suffix = randomSuffix();
    const nats = { servers: natsUrl(), streamName: `TRM_BENCH_TEST_${suffix}`, subjectsPrefix: `trmbenchtest${suffix}` };
    const r = await runHttpBench(testDb.url, nats, { seconds: 1, connections: 2, logLevel: 'warn' }, silentProgress);
    expect(r.notify.requests).toBeGreaterThan(0);
    expect(r.notify.non2xx).toBe(0);
    expect(r.notify_paced.requests).toBeGreaterThan(0);
    expect(r.notify_paced.non2xx).toBe(0);
    expect(r.acknowledge.requests).toBeGreaterThan(0);
    expect(r.acknowledge.non2xx).toBe(0);
    expect(r.propagation.cases).toBe(r.notify.requests);
    expect(r.propagation.missing).toBe(0);
    expect(r.rss_mb.referrals).toBeGreaterThan(0);
    // With the ledger built, it recorded every event of the run and reconciles with referrals.
    if (r.services.includes('ledger')) {
      expect(r.propagation.ledger).toMatchObject({ missing: 0 });
      expect(r.ledger_verification).toMatchObject({ ok: true });
      expect(r.ledger_verification!.entries).toBeGreaterThanOrEqual(2 * r.notify.requests);
    }
    // The run removed its stream.
    const bus = await connectJetStreamBus({ servers: nats.servers, streamName: `TRM_BENCH_TEST_CHECK_${suffix}`, subjectsPrefix: `x${suffix}` });
    const names: string[] = [];
    for await (const name of bus['jsm'].streams.names()) names.push(name);
    await bus.deleteStream();
    await bus.close();
    expect(names).not.toContain(nats.streamName);
  });
});
