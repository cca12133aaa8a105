import { performance } from 'node:perf_hooks';
import { type Db, createPgDb, migrate } from '@trm/db';
import { type GlobalCheckpoint, START_OF_LOG, canonicalJson, computeEventHash, createEventStore } from '@trm/event-store';
import { toEnvelope } from '@trm/bus';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
// Not exported by @trm/referrals yet (asked of its owner): the built module, the code the service runs.
import { projectCaseEvents } from '@trm/referrals';
import { caseNotified, eventMetadata, notificationAcknowledged } from './payload.js';
import type { Progress } from './progress.js';
import { round } from './stats.js';

export interface ReplayResults {
  events: number;
  cases: number;
  /** Writing the generated history (hash chains computed here, multi-row INSERT). */
  generate_events_per_s: number | null;
  /** Reading the whole log in global order (readGlobal), folding nothing. */
  read_events_per_s: number | null;
  /** Rebuilding the referrals case projection from the log (its batched rebuild path), cases split among parallel transactions. */
  projection: { name: string; partitions: number; events: number; complete: boolean; seconds: number | null; events_per_s: number | null };
  /** Statistics' own rebuild (rebuildFacts) over the first `events` of the history, when built. */
  statistics: { events: number; seconds: number | null; events_per_s: number | null; unparsed: number } | null;
  /** Hash-chain verification of every stream (verifyAll). */
  verify: { ok: boolean; events: number; seconds: number | null; events_per_s: number | null };
  /**
   * The whole history recorded in a ledger by the ledger's own writer (appendEntries, a page per
   * transaction), then verified: `reconcile` checks every entry against the event it records, and
   * the Merkle tree of every leaf is rebuilt (TreeCache) to its root. Null without @trm/ledger.
   */
  ledger: {
    entries: number;
    record: { seconds: number | null; entries_per_s: number | null };
    reconcile: { ok: boolean; seconds: number | null; entries_per_s: number | null };
    merkle_root: { seconds: number | null; entries_per_s: number | null };
  } | null;
}

// The schema is the service's own name: statistics' rebuild reads `<service>.events` of the
// services it knows, so the generated history must sit where referrals keeps its events. The
// benchmark gives this section a database of its own.
const SCHEMA = 'referrals';
const LEDGER_SCHEMA = 'ledger';
const INSERT_BATCH = 5_000;
const READ_BATCH = 2_000;
/** Rebuild transactions at once; the case projection is per case, so cases are split among them. */
const REBUILD_PARTITIONS = 4;

/** Same case, same partition, so each case's events stay in their order. */
function partitionOf(streamId: string): number {
  let h = 0;
  for (let i = 0; i < streamId.length; i++) h = (h * 31 + streamId.charCodeAt(i)) | 0;
  return Math.abs(h) % REBUILD_PARTITIONS;
}

interface Row {
  stream_id: string;
  stream_version: number;
  event_id: string;
  event_type: string;
  data: string;
  metadata: string;
  recorded_at: string;
  prev_hash: string | null;
  hash: string;
}

/** Cases of two events each (CaseNotified, NotificationAcknowledged), chained as the store chains them. */
function generate(fromCase: number, toCase: number, start: Date): Row[] {
  const rows: Row[] = [];
  for (let n = fromCase; n < toCase; n++) {
    // UUIDv7, time-ordered, as the services make them: index order follows insertion order.
    const caseId = uuidv7();
    const streamId = `case-${caseId}`;
    const notifiedAt = new Date(start.getTime() + n * 1000);
    const acknowledgedAt = new Date(notifiedAt.getTime() + 3_600_000);
    const metadata = eventMetadata();
    let prevHash: string | null = null;
    const steps = [
      { type: 'CaseNotified', data: caseNotified(caseId, n, notifiedAt), at: notifiedAt },
      { type: 'NotificationAcknowledged', data: notificationAcknowledged(caseId, acknowledgedAt), at: acknowledgedAt },
    ];
    steps.forEach((step, i) => {
      const fields = {
        eventId: uuidv7(),
        streamId,
        streamVersion: i + 1,
        type: step.type,
        schemaVersion: 1,
        data: step.data as unknown,
        metadata,
        recordedAt: step.at.toISOString(),
      };
      const hash = computeEventHash(prevHash, fields);
      rows.push({
        stream_id: streamId,
        stream_version: i + 1,
        event_id: fields.eventId,
        event_type: step.type,
        data: canonicalJson(step.data),
        metadata: canonicalJson(metadata),
        recorded_at: fields.recordedAt,
        prev_hash: prevHash,
        hash,
      });
      prevHash = hash;
    });
  }
  return rows;
}

/** Writes cases [fromCase, toCase) with two inserts in flight while the next batch is hashed. */
async function writeHistory(db: Db, fromCase: number, toCase: number, start: Date): Promise<number> {
  const t0 = performance.now();
  const table = sql.table(`${SCHEMA}.events`);
  const inFlight: Promise<unknown>[] = [];
  const casesPerBatch = INSERT_BATCH / 2;
  for (let from = fromCase; from < toCase; from += casesPerBatch) {
    const rows = generate(from, Math.min(toCase, from + casesPerBatch), start);
    if (inFlight.length >= 2) await inFlight.shift();
    const insert = sql`
      insert into ${table} (stream_id, stream_version, event_id, event_type, schema_version, data, metadata, recorded_at, prev_hash, hash)
      select s, v, e, t, 1, d::jsonb, m::jsonb, r, p, h from unnest(
        ${rows.map((r) => r.stream_id)}::text[], ${rows.map((r) => r.stream_version)}::int[], ${rows.map((r) => r.event_id)}::uuid[],
        ${rows.map((r) => r.event_type)}::text[], ${rows.map((r) => r.data)}::text[], ${rows.map((r) => r.metadata)}::text[],
        ${rows.map((r) => r.recorded_at)}::timestamptz[], ${rows.map((r) => r.prev_hash)}::text[], ${rows.map((r) => r.hash)}::text[]
      ) as x(s, v, e, t, d, m, r, p, h)`.execute(db);
    // Awaited below; marked handled so a failure surfaces there, not as an unhandled rejection.
    insert.catch(() => {});
    inFlight.push(insert);
  }
  await Promise.all(inFlight);
  return performance.now() - t0;
}

/** A workspace module when it is built (the benchmark runs without it), else null. */
async function optional<M>(load: () => Promise<M>, usable: (m: M) => boolean): Promise<M | null> {
  try {
    const m = await load();
    return usable(m) ? m : null;
  } catch {
    return null;
  }
}

/** @trm/ledger: the benchmark records the history in it and verifies it. */
const loadLedger = () => optional(() => import('@trm/ledger'), (m) => typeof m.appendEntries === 'function');

/** @trm/statistics: the benchmark measures its rebuild. */
const loadStatistics = () => optional(() => import('@trm/statistics'), (m) => typeof m.rebuildFacts === 'function');

/**
 * Years of history at once: `events` generated events in the referrals event table, then the
 * case projection rebuilt from them (the projection's batched path: a page read, folded in memory
 * and written set-based, equal to what the service runs inline), the
 * log read alone, and every hash chain verified. The rebuild stops at `maxSeconds` and reports the
 * rate it held, so a slow projection cannot push the whole run past its time budget.
 */
export async function runReplayBench(
  url: string,
  opts: { events: number; maxSeconds: number; statisticsEvents: number; ledgerEvents: number },
  progress: Progress,
): Promise<ReplayResults> {
  const { db } = createPgDb(url, { max: REBUILD_PARTITIONS + 2, applicationName: 'trm-bench-replay' });
  try {
    await migrate(db, { schema: SCHEMA, service: 'referrals' });
    const statistics = await loadStatistics();
    if (statistics) await migrate(db, { schema: 'statistics', service: 'statistics' });
    const store = createEventStore({ schema: SCHEMA });
    const cases = Math.ceil(opts.events / 2);
    const start = new Date(Date.UTC(2020, 0, 1));
    const table = sql.table(`${SCHEMA}.events`);

    // Statistics' rebuild and the ledger's reconcile read everything in the table: each gets the
    // first part of the history (the smaller part first), before the rest is written.
    const statisticsCases = statistics ? Math.min(cases, Math.ceil(opts.statisticsEvents / 2)) : 0;
    const ledger = await loadLedger();
    const ledgerCases = ledger ? Math.min(cases, Math.ceil(opts.ledgerEvents / 2)) : 0;
    progress.step(`replay: generating ${cases * 2} events`);
    let generateMs = 0;
    let written = 0;
    const writeUpTo = async (toCase: number) => {
      if (toCase > written) generateMs += await writeHistory(db, written, toCase, start);
      written = Math.max(written, toCase);
    };
    let statisticsResult: ReplayResults['statistics'] = null;
    let ledgerResult: ReplayResults['ledger'] = null;
    const parts: Array<{ cases: number; run: () => Promise<void> }> = [];
    if (statistics) {
      parts.push({
        cases: statisticsCases,
        run: async () => {
          progress.step(`replay: statistics rebuild over ${written * 2} events`);
          const s0 = performance.now();
          const r = await statistics.rebuildFacts(db, { services: [SCHEMA], swap: false });
          const ms = performance.now() - s0;
          // The live tables are empty, so every rebuilt row counts as a difference: the unparsed-event
          // rows are the events statistics could not read.
          statisticsResult = { events: r.events, seconds: round(ms / 1000), events_per_s: round((r.events * 1000) / ms), unparsed: r.differences.unparsed_events ?? 0 };
        },
      });
    }
    if (ledger) {
      parts.push({
        cases: ledgerCases,
        run: async () => {
          ledgerResult = await recordAndVerifyLedger(ledger, db, store, written * 2, progress);
        },
      });
    }
    for (const part of parts.sort((a, b) => a.cases - b.cases)) {
      await writeUpTo(part.cases);
      await part.run();
    }
    await writeUpTo(cases);
    const total = cases * 2;
    await sql`analyze ${table}`.execute(db);

    progress.step('replay: reading the log in global order');
    const read = await timedScan(store, db, total, async () => {});

    progress.step(`replay: rebuilding the case projection (at most ${opts.maxSeconds} s)`);
    const rebuild = await timedScan(
      store,
      db,
      total,
      (events) => {
        const parts: (typeof events)[] = Array.from({ length: REBUILD_PARTITIONS }, () => []);
        for (const e of events) parts[partitionOf(e.streamId)]!.push(e);
        return Promise.all(parts.filter((p) => p.length > 0).map((p) => db.transaction().execute((tx) => projectCaseEvents(tx, SCHEMA, p, { batched: true }))));
      },
      opts.maxSeconds * 1000,
    );

    progress.step('replay: verifying every hash chain');
    const v0 = performance.now();
    const verified = await store.verifyAll(db, { batchSize: READ_BATCH });
    const verifyMs = performance.now() - v0;

    return {
      ledger: ledgerResult,
      events: total,
      cases,
      generate_events_per_s: round((total * 1000) / generateMs),
      read_events_per_s: round(read.events > 0 ? (read.events * 1000) / read.ms : null),
      projection: {
        name: 'referrals cases + case_participants',
        partitions: REBUILD_PARTITIONS,
        events: rebuild.events,
        complete: rebuild.events === total,
        seconds: round(rebuild.ms / 1000),
        events_per_s: round(rebuild.events > 0 ? (rebuild.events * 1000) / rebuild.ms : null),
      },
      statistics: statisticsResult,
      verify: {
        ok: verified.ok,
        events: verified.events,
        seconds: round(verifyMs / 1000),
        events_per_s: round((verified.events * 1000) / verifyMs),
      },
    };
  } finally {
    await db.destroy();
  }
}

/**
 * Records the `total` events of the log in a ledger with the ledger's own writer (a page per
 * transaction), then verifies it: reconcile (every entry against its event) and the Merkle root
 * rebuilt from every leaf.
 */
async function recordAndVerifyLedger(
  ledger: NonNullable<Awaited<ReturnType<typeof loadLedger>>>,
  db: Db,
  store: ReturnType<typeof createEventStore>,
  total: number,
  progress: Progress,
): Promise<NonNullable<ReplayResults['ledger']>> {
  await migrate(db, { schema: LEDGER_SCHEMA, service: 'ledger' });
  progress.step(`replay: recording ${total} events in a ledger`);
  const recorded = await timedScan(store, db, total, (events) =>
    db.transaction().execute((tx) => ledger.appendEntries(tx, LEDGER_SCHEMA, events.map((e) => toEnvelope('referrals', e)))),
  );
  // As autovacuum would after such a load: the planner needs the new rows' statistics.
  await sql`analyze ${sql.table(`${LEDGER_SCHEMA}.ledger_entries`)}`.execute(db);
  progress.step('replay: verifying the ledger (reconcile, Merkle root)');
  const r0 = performance.now();
  const report = await ledger.reconcile(db, { ledgerSchema: LEDGER_SCHEMA, services: [SCHEMA], graceMs: 0, now: new Date() });
  const reconcileMs = performance.now() - r0;
  const entries = report.services.reduce((n, x) => n + x.entries, 0);
  const m0 = performance.now();
  const tree = new ledger.TreeCache(db, LEDGER_SCHEMA);
  const size = await tree.sync();
  await tree.root(size);
  const merkleMs = performance.now() - m0;
  return {
    entries,
    record: { seconds: round(recorded.ms / 1000), entries_per_s: round((recorded.events * 1000) / recorded.ms) },
    reconcile: { ok: report.ok && entries === total, seconds: round(reconcileMs / 1000), entries_per_s: round((entries * 1000) / reconcileMs) },
    merkle_root: { seconds: round(merkleMs / 1000), entries_per_s: round((size * 1000) / merkleMs) },
  };
}

/**
 * Reads the log in global order, `READ_BATCH` at a time, handing each batch to `apply`; the next
 * batch is read while the previous one is applied. Stops at the end, or when `budgetMs` is spent.
 */
async function timedScan(
  store: ReturnType<typeof createEventStore>,
  db: ReturnType<typeof createPgDb>['db'],
  total: number,
  apply: (events: Awaited<ReturnType<typeof store.readGlobal>>) => Promise<unknown>,
  budgetMs = Number.POSITIVE_INFINITY,
): Promise<{ events: number; ms: number }> {
  const t0 = performance.now();
  let after: GlobalCheckpoint = START_OF_LOG;
  let events = 0;
  let stalledSince: number | null = null;
  let batch = await store.readGlobal(db, after, READ_BATCH);
  while (events < total && performance.now() - t0 < budgetMs) {
    if (batch.length === 0) {
      // A transaction open elsewhere in the cluster holds the visibility horizon back (see
      // readGlobal); wait for it rather than report a short log.
      stalledSince ??= performance.now();
      if (performance.now() - stalledSince > 60_000) throw new Error(`replay: the log stopped at ${events} of ${total} events for 60 s`);
      await new Promise((r) => setTimeout(r, 50));
      batch = await store.readGlobal(db, after, READ_BATCH);
      continue;
    }
    stalledSince = null;
    after = store.checkpointOf(batch.at(-1)!);
    const [next] = await Promise.all([store.readGlobal(db, after, READ_BATCH), apply(batch)]);
    events += batch.length;
    batch = next;
  }
  return { events, ms: performance.now() - t0 };
}
