import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { createPgDb, migrate } from '@trm/db';
import { createEventStore, type EventMetadata } from '@trm/event-store';
import type pg from 'pg';
import { caseNotified, eventMetadata } from './payload.js';
import { oneStatementAppend, oneStatementAppendSql } from './proposals/one-statement-append.js';
import type { Progress } from './progress.js';
import { Samples, ratio, round } from './stats.js';

export const CONTENDERS = ['trm', 'emmett', 'raw'] as const;
/**
 * Variants run only with BENCH_DIAGNOSE=1, to explain a gap rather than to compare:
 * `trm_no_notify` is TRM's store unchanged on a table without the statement-level NOTIFY trigger;
 * `trm_one_statement` is the proposal in proposals/one-statement-append.ts (same table and hash
 * chain, one round trip per append, no NOTIFY trigger either).
 */
export const DIAGNOSTIC_CONTENDERS = ['trm_no_notify', 'trm_one_statement'] as const;
export type ContenderName = (typeof CONTENDERS)[number] | (typeof DIAGNOSTIC_CONTENDERS)[number];

export const SCENARIOS = {
  /** A notification: 1 event that opens a new stream. */
  new_stream: { eventsPerAppend: 1 },
  /** A busy case: 10 events appended to a stream that exists, with its expected version. */
  existing_stream_10: { eventsPerAppend: 10 },
} as const;
export type ScenarioName = keyof typeof SCENARIOS;

interface BenchEvent {
  type: string;
  data: Record<string, unknown>;
}

/** One way of storing events; `version` is the stream's current version (0: the stream is new). */
interface Contender {
  name: ContenderName;
  append(streamId: string, events: BenchEvent[], version: number, metadata: EventMetadata): Promise<void>;
  /** Events it holds, to check at the end that every counted append really wrote its events. */
  count(): Promise<number>;
  /** For TRM's tables: every hash chain verifies. */
  verify?(): Promise<boolean>;
}

export interface ContenderFigures {
  appends: number;
  appends_per_s: number | null;
  events_per_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
}

export interface AppendResults {
  rounds: number;
  slot_ms: number;
  pool_size: number;
  scenarios: Record<
    ScenarioName,
    Record<
      string,
      Record<(typeof CONTENDERS)[number], ContenderFigures> & {
        ratio_vs_emmett: number | null;
        ratio_vs_raw: number | null;
        diagnostics?: Partial<Record<(typeof DIAGNOSTIC_CONTENDERS)[number], ContenderFigures>>;
      }
    >
  >;
  /** Per writer count, the worse of the two scenarios: a target is met only if both meet it. */
  ratio_vs_emmett: Record<string, number | null>;
  ratio_vs_raw: Record<string, number | null>;
  /** Rows in each store after the run equal the events its counted appends wrote. */
  verified: boolean;
}

const RAW_TABLE = 'bench_raw.events';

/**
 * The database's own ceiling for the same work: one INSERT statement per append (its own
 * transaction), the same row payload, and the unique (stream, version) index any event store needs
 * for optimistic concurrency; no lock, no hash, no trigger.
 */
async function createRawTable(pool: pg.Pool): Promise<void> {
  await pool.query(`create schema if not exists bench_raw;
    create table ${RAW_TABLE} (
      global_position bigint generated always as identity primary key,
      stream_id text not null,
      stream_version integer not null,
      event_id uuid not null,
      event_type text not null,
      data jsonb not null,
      metadata jsonb not null,
      recorded_at timestamptz not null default now(),
      unique (stream_id, stream_version)
    )`);
}

async function contenders(url: string, poolSize: number, diagnose: boolean): Promise<{ list: Contender[]; close(): Promise<void> }> {
  // One pool for all three, so each gets the same connections, settings and pool code.
  const { db, pool } = createPgDb(url, { max: poolSize, applicationName: 'trm-bench-append' });
  await migrate(db, { schema: 'bench_trm', service: 'bench_trm' });
  await createRawTable(pool);
  const store = createEventStore({ schema: 'bench_trm' });
  const emmett = getPostgreSQLEventStore(url, { connectionOptions: { pool } });
  await emmett.schema.migrate();

  const trm: Contender = {
    name: 'trm',
    async append(streamId, events, version, metadata) {
      await store.append(db, streamId, events, { expectedVersion: version === 0 ? 'no_stream' : version, metadata, now: new Date() });
    },
    count: async () => Number((await pool.query('select count(*) as n from bench_trm.events')).rows[0].n),
    verify: async () => (await store.verifyAll(db)).ok,
  };
  const emmettContender: Contender = {
    name: 'emmett',
    async append(streamId, events, version, metadata) {
      await emmett.appendToStream(
        streamId,
        events.map((e) => ({ type: e.type, data: e.data, metadata: { ...metadata } })),
        { expectedStreamVersion: version === 0 ? STREAM_DOES_NOT_EXIST : BigInt(version) },
      );
    },
    count: async () => Number((await pool.query('select count(*) as n from emt_messages')).rows[0].n),
  };
  const raw: Contender = {
    name: 'raw',
    async append(streamId, events, version, metadata) {
      const params: unknown[] = [];
      const rows = events.map((e, i) => {
        const b = params.length;
        params.push(streamId, version + 1 + i, randomUUID(), e.type, JSON.stringify(e.data), JSON.stringify(metadata));
        return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6})`;
      });
      await pool.query(
        `insert into ${RAW_TABLE} (stream_id, stream_version, event_id, event_type, data, metadata) values ${rows.join(', ')}`,
        params,
      );
    },
    count: async () => Number((await pool.query(`select count(*) as n from ${RAW_TABLE}`)).rows[0].n),
  };
  const list = [trm, emmettContender, raw];
  if (diagnose) {
    await migrate(db, { schema: 'bench_trm_nn', service: 'bench_trm_nn' });
    await pool.query('drop trigger if exists events_notify_appended on bench_trm_nn.events');
    const quiet = createEventStore({ schema: 'bench_trm_nn' });
    list.push({
      name: 'trm_no_notify',
      async append(streamId, events, version, metadata) {
        await quiet.append(db, streamId, events, { expectedVersion: version === 0 ? 'no_stream' : version, metadata, now: new Date() });
      },
      count: async () => Number((await pool.query('select count(*) as n from bench_trm_nn.events')).rows[0].n),
      verify: async () => (await quiet.verifyAll(db)).ok,
    });
    await migrate(db, { schema: 'bench_trm_1s', service: 'bench_trm_1s' });
    await pool.query(oneStatementAppendSql('bench_trm_1s'));
    await pool.query('drop trigger if exists events_notify_appended on bench_trm_1s.events');
    const oneStatementStore = createEventStore({ schema: 'bench_trm_1s' });
    list.push({
      name: 'trm_one_statement',
      async append(streamId, events, version, metadata) {
        await oneStatementAppend(pool, 'bench_trm_1s', streamId, events, version, metadata);
      },
      count: async () => Number((await pool.query('select count(*) as n from bench_trm_1s.events')).rows[0].n),
      verify: async () => (await oneStatementStore.verifyAll(db)).ok,
    });
  }
  return { list, close: () => db.destroy() };
}

interface SlotOutcome {
  appends: number;
  events: number;
  elapsedMs: number;
  samples: Samples;
}

function eventsFor(streamId: string, n: number, eventsPerAppend: number): BenchEvent[] {
  const at = new Date();
  return Array.from({ length: eventsPerAppend }, (_, i) => ({ type: 'CaseNotified', data: { ...caseNotified(streamId, n + i, at) } }));
}

/** `writers` loops appending as fast as they can until the slot's time is up. */
async function runSlot(c: Contender, scenario: ScenarioName, writers: number, slotMs: number, written: Map<ContenderName, number>): Promise<SlotOutcome> {
  const { eventsPerAppend } = SCENARIOS[scenario];
  // Existing streams are opened before the clock starts, fresh for every slot, so every store
  // appends to streams of the same length.
  const streams: Array<Array<{ id: string; version: number }>> = [];
  for (let w = 0; w < writers; w++) {
    streams.push([]);
    if (scenario !== 'existing_stream_10') continue;
    for (let k = 0; k < 4; k++) {
      const id = `case-${randomUUID()}`;
      await c.append(id, eventsFor(id, k, eventsPerAppend), 0, eventMetadata());
      written.set(c.name, (written.get(c.name) ?? 0) + eventsPerAppend);
      streams[w]!.push({ id, version: eventsPerAppend });
    }
  }
  const samples = new Samples();
  let appends = 0;
  const start = performance.now();
  const deadline = start + slotMs;
  await Promise.all(
    streams.map(async (own, w) => {
      let n = w * 1_000_000;
      while (performance.now() < deadline) {
        const target = own.length > 0 ? own[n % own.length]! : { id: `case-${randomUUID()}`, version: 0 };
        const events = eventsFor(target.id, n++, eventsPerAppend);
        const metadata = eventMetadata();
        const t0 = performance.now();
        await c.append(target.id, events, target.version, metadata);
        samples.add(performance.now() - t0);
        target.version += eventsPerAppend;
        appends++;
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  written.set(c.name, (written.get(c.name) ?? 0) + appends * eventsPerAppend);
  return { appends, events: appends * eventsPerAppend, elapsedMs, samples };
}

function figures(outcomes: SlotOutcome[]): ContenderFigures {
  const samples = new Samples();
  let appends = 0;
  let events = 0;
  let ms = 0;
  for (const o of outcomes) {
    samples.merge(o.samples);
    appends += o.appends;
    events += o.events;
    ms += o.elapsedMs;
  }
  return {
    appends,
    appends_per_s: round(ms > 0 ? (appends * 1000) / ms : null),
    events_per_s: round(ms > 0 ? (events * 1000) / ms : null),
    p50_ms: round(samples.percentile(50)),
    p99_ms: round(samples.percentile(99)),
  };
}

/**
 * TRM's event store, Emmett's PostgreSQL event store and raw INSERTs, on the same database with
 * the same payload. Rounds interleave the contenders (their order rotates every slot) so that
 * noise from the other tenants of the machine falls on all three alike.
 */
export async function runAppendBench(
  url: string,
  opts: { rounds: number; slotMs: number; writers: readonly number[]; diagnose?: boolean },
  progress: Progress,
): Promise<AppendResults> {
  const poolSize = Math.max(...opts.writers);
  const { list, close } = await contenders(url, poolSize, opts.diagnose ?? false);
  const written = new Map<ContenderName, number>();
  const outcomes = new Map<string, SlotOutcome[]>();
  const key = (s: ScenarioName, w: number, c: ContenderName) => `${s}/${w}/${c}`;
  const scenarios = Object.keys(SCENARIOS) as ScenarioName[];
  try {
    // Warm-up: connections opened, JIT and plans settled, Emmett's schema checked.
    for (const c of list) await runSlot(c, 'new_stream', poolSize, Math.min(500, opts.slotMs), written);
    let slot = 0;
    for (let round = 0; round < opts.rounds; round++) {
      for (const scenario of scenarios) {
        for (const writers of opts.writers) {
          const order = list.map((_, i) => list[(i + slot) % list.length]!);
          slot++;
          for (const c of order) {
            progress.step(`append ${scenario} ${writers}w ${c.name} (round ${round + 1}/${opts.rounds})`);
            const k = key(scenario, writers, c.name);
            const outcome = await runSlot(c, scenario, writers, opts.slotMs, written);
            outcomes.set(k, [...(outcomes.get(k) ?? []), outcome]);
          }
        }
      }
    }
    let verified = true;
    for (const c of list) {
      const stored = await c.count();
      if (stored !== written.get(c.name)) {
        verified = false;
        progress.log(`append: ${c.name} holds ${stored} events but ${written.get(c.name)} were counted`);
      }
      if (c.verify && !(await c.verify())) {
        verified = false;
        progress.log(`append: a hash chain written by ${c.name} does not verify`);
      }
    }
    return summarise(opts, poolSize, outcomes, verified);
  } finally {
    await close();
  }
}

function summarise(
  opts: { rounds: number; slotMs: number; writers: readonly number[] },
  poolSize: number,
  outcomes: Map<string, SlotOutcome[]>,
  verified: boolean,
): AppendResults {
  const scenarios = {} as AppendResults['scenarios'];
  const vsEmmett: Record<string, number | null> = {};
  const vsRaw: Record<string, number | null> = {};
  for (const scenario of Object.keys(SCENARIOS) as ScenarioName[]) {
    scenarios[scenario] = {};
    for (const writers of opts.writers) {
      const per = {} as Record<ContenderName, ContenderFigures>;
      for (const c of CONTENDERS) per[c] = figures(outcomes.get(`${scenario}/${writers}/${c}`) ?? []);
      const diagnostics: Partial<Record<(typeof DIAGNOSTIC_CONTENDERS)[number], ContenderFigures>> = {};
      for (const c of DIAGNOSTIC_CONTENDERS) {
        const measured = outcomes.get(`${scenario}/${writers}/${c}`);
        if (measured) diagnostics[c] = figures(measured);
      }
      const eRatio = ratio(per.trm.events_per_s, per.emmett.events_per_s);
      const rRatio = ratio(per.trm.events_per_s, per.raw.events_per_s);
      scenarios[scenario][`c${writers}`] = {
        ...per,
        ratio_vs_emmett: round(eRatio),
        ratio_vs_raw: round(rRatio),
        ...(Object.keys(diagnostics).length > 0 ? { diagnostics } : {}),
      };
      const c = `c${writers}`;
      vsEmmett[c] = worse(vsEmmett[c], eRatio);
      vsRaw[c] = worse(vsRaw[c], rRatio);
    }
  }
  for (const c of Object.keys(vsEmmett)) {
    vsEmmett[c] = round(vsEmmett[c] ?? null);
    vsRaw[c] = round(vsRaw[c] ?? null);
  }
  return { rounds: opts.rounds, slot_ms: opts.slotMs, pool_size: poolSize, scenarios, ratio_vs_emmett: vsEmmett, ratio_vs_raw: vsRaw, verified };
}

function worse(current: number | null | undefined, next: number | null): number | null {
  if (current === undefined) return next;
  if (current === null || next === null) return null;
  return Math.min(current, next);
}
