import { sql } from 'kysely';
import type { Db } from '@trm/db';
import { type GlobalCheckpoint, type ReplayedEvent, START_OF_LOG, createEventStore } from '@trm/event-store';
import { FACTS_CONSUMER, SOURCE_SERVICES, STATISTICS_SCHEMA } from '../constants.js';
import { FACT_TABLES } from '../domain/fact-events.js';
import { type FoldEvent, applyEvents, planFacts, writeFacts } from '../repositories/facts.repository.js';

/** Tables compared and swapped: the facts, the watermarks and the unparsed-event list. */
const TABLES = [...FACT_TABLES, 'watermarks', 'unparsed_events'] as const;

export interface RebuildReport {
  events: number;
  perService: Record<string, number>;
  seconds: number;
  eventsPerSecond: number;
  /** Rows that differ between live and rebuilt, per table (both directions). */
  differences: Record<string, number>;
  /** Events the rebuild folded that the live consumer had not applied yet (0 when caught up). */
  liveBehindBy: number;
  /** Every table equal and the live consumer caught up. */
  equal: boolean;
  swapped: boolean;
}

export interface RebuildOptions {
  schema?: string;
  services?: readonly string[];
  batchSize?: number;
  /** Replace the live tables with the rebuilt ones (default true). */
  swap?: boolean;
  onStart?(total: number): void;
  onProgress?(done: number): void;
}

async function hasEvents(db: Db, schema: string): Promise<boolean> {
  const { rows } = await sql<{ t: string | null }>`select to_regclass(${`${schema}.events`})::text as t`.execute(db);
  return rows[0]?.t !== null && rows[0]?.t !== undefined;
}

/**
 * Replays every source service's events table, in its global order, into fresh tables of a
 * separate schema, compares them with the live tables and swaps them in. Statistics is the one
 * reader allowed to read other services' events tables directly, and only here, offline: live,
 * it hears events through the bus like every other consumer.
 *
 * The swap holds the consumer's stream positions, inbox, fact and watermark tables locked (the
 * positions first: the consumer reads them before it writes anything, so neither waits on the
 * other for ever), first folds the events the live consumer applied that
 * the replay had not seen yet (committed meanwhile), then replaces the live rows and the
 * consumer's inbox and stream positions with exactly what was folded: nothing is counted twice or lost.
 */
export async function rebuildFacts(db: Db, opts: RebuildOptions = {}): Promise<RebuildReport> {
  const schema = opts.schema ?? STATISTICS_SCHEMA;
  const target = `${schema}_rebuild`;
  const batchSize = opts.batchSize ?? 5000;
  const services: string[] = [];
  for (const s of opts.services ?? SOURCE_SERVICES) if (await hasEvents(db, s)) services.push(s);

  await sql`drop schema if exists ${sql.id(target)} cascade`.execute(db);
  await sql`create schema ${sql.id(target)}`.execute(db);
  // Scratch tables, dropped at the end: unlogged, so the replay writes no WAL for them.
  for (const t of TABLES) await sql`create unlogged table ${sql.id(target, t)} (like ${sql.id(schema, t)} including all)`.execute(db);
  // Its primary key is added once the replay is over: one sort instead of a random index insert per event.
  await sql`create unlogged table ${sql.id(target, 'folded')} (event_id uuid not null)`.execute(db);

  let total = 0;
  for (const s of services) {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.id(s, 'events')}`.execute(db);
    total += Number(rows[0]!.n);
  }
  opts.onStart?.(total);

  const started = process.hrtime.bigint();
  const perService: Record<string, number> = {};
  let done = 0;
  for (const service of services) {
    const store = createEventStore({ schema: service });
    let checkpoint: GlobalCheckpoint = START_OF_LOG;
    perService[service] = 0;
    const read = (after: GlobalCheckpoint) => store.readGlobalForReplay(db, after, batchSize);
    const fold = (page: ReplayedEvent[]) =>
      planFacts(page.map((e) => ({ service, type: e.type, eventId: e.eventId, recordedAt: e.recordedAt, globalPosition: e.globalPosition, data: e.data })));
    let page = await read(checkpoint);
    let plan = fold(page);
    while (page.length > 0) {
      checkpoint = store.checkpointOf(page.at(-1)!);
      const ids = page.map((e) => e.eventId);
      const planned = plan;
      // One transaction per page, a few set-based statements; meanwhile the next page is read and folded.
      const writing = db.transaction().execute(async (tx) => {
        await writeFacts(tx, target, planned);
        await sql`insert into ${sql.id(target, 'folded')} (event_id) select unnest(${ids}::uuid[])`.execute(tx);
      });
      // Marked handled so a failure surfaces at the await below, not as an unhandled rejection.
      writing.catch(() => {});
      let next: ReplayedEvent[];
      try {
        next = await read(checkpoint);
        plan = fold(next);
      } finally {
        await writing;
      }
      perService[service] += page.length;
      done += page.length;
      opts.onProgress?.(done);
      if (next.length === 0) {
        // Read again with no page transaction of ours open, so the end of the log is not our own doing.
        next = await read(checkpoint);
        plan = fold(next);
      }
      page = next;
    }
  }
  await sql`alter table ${sql.id(target, 'folded')} add primary key (event_id)`.execute(db);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const report = await db.transaction().execute(async (tx) => {
    // The consumer's first statement reads its stream positions: with them locked, a consumer
    // transaction that begins now waits before it writes anything, and one under way finishes first.
    await sql`lock table ${sql.id(schema, 'consumer_streams')} in access exclusive mode`.execute(tx);
    await sql`lock table ${sql.id(schema, 'inbox')} in exclusive mode`.execute(tx);
    for (const t of TABLES) await sql`lock table ${sql.id(schema, t)} in exclusive mode`.execute(tx);

    // Applied live but committed after the replay read past them: fold them too, in order.
    for (const service of services) {
      const { rows } = await sql<{ event_id: string; event_type: string; data: unknown; recorded_at: string; global_position: string }>`
        select e.event_id::text as event_id, e.event_type, e.data, e.global_position::text as global_position,
          to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as recorded_at
        from ${sql.id(service, 'events')} e
        join ${sql.id(schema, 'inbox')} i on i.event_id = e.event_id and i.consumer = ${FACTS_CONSUMER}
        where not exists (select 1 from ${sql.id(target, 'folded')} f where f.event_id = e.event_id)
        order by e.transaction_id, e.global_position`.execute(tx);
      if (rows.length > 0) {
        const late: FoldEvent[] = rows.map((e) => ({ service, type: e.event_type, eventId: e.event_id, recordedAt: e.recorded_at, globalPosition: e.global_position, data: e.data }));
        await applyEvents(tx, target, late);
        await sql`insert into ${sql.id(target, 'folded')} (event_id) select unnest(${rows.map((e) => e.event_id)}::uuid[])`.execute(tx);
        perService[service] = (perService[service] ?? 0) + rows.length;
        done += rows.length;
      }
    }

    const { rows: behind } = await sql<{ n: string }>`
      select count(*)::text as n from ${sql.id(target, 'folded')} f
      where not exists (select 1 from ${sql.id(schema, 'inbox')} i where i.consumer = ${FACTS_CONSUMER} and i.event_id = f.event_id)`.execute(tx);
    const liveBehindBy = Number(behind[0]!.n);

    const differences: Record<string, number> = {};
    for (const t of TABLES) {
      const live = sql.id(schema, t);
      const rebuilt = sql.id(target, t);
      const { rows } = await sql<{ n: string }>`select
          (select count(*) from (select * from ${live} except all select * from ${rebuilt}) a) +
          (select count(*) from (select * from ${rebuilt} except all select * from ${live}) b) as n`.execute(tx);
      differences[t] = Number(rows[0]!.n);
    }
    const equal = liveBehindBy === 0 && Object.values(differences).every((n) => n === 0);

    const swap = opts.swap ?? true;
    if (swap) {
      for (const t of TABLES) {
        await sql`delete from ${sql.id(schema, t)}`.execute(tx);
        await sql`insert into ${sql.id(schema, t)} select * from ${sql.id(target, t)}`.execute(tx);
      }
      await sql`delete from ${sql.id(schema, 'inbox')} where consumer = ${FACTS_CONSUMER}`.execute(tx);
      await sql`insert into ${sql.id(schema, 'inbox')} (consumer, event_id) select ${FACTS_CONSUMER}, event_id from ${sql.id(target, 'folded')}`.execute(tx);
      // The consumer's stream positions say what it applied, and so what a redelivery repeats:
      // after the swap that is what was folded, each stream up to its last folded version.
      await sql`delete from ${sql.id(schema, 'consumer_streams')} where consumer = ${FACTS_CONSUMER}`.execute(tx);
      for (const service of services) {
        await sql`insert into ${sql.id(schema, 'consumer_streams')} (consumer, source, stream_id, version)
          select ${FACTS_CONSUMER}, ${service}, e.stream_id, max(e.stream_version)
          from ${sql.id(service, 'events')} e join ${sql.id(target, 'folded')} f on f.event_id = e.event_id
          group by e.stream_id`.execute(tx);
      }
    }
    return { liveBehindBy, differences, equal, swapped: swap };
  });
  await sql`drop schema ${sql.id(target)} cascade`.execute(db);

  return {
    events: done,
    perService,
    seconds,
    eventsPerSecond: seconds > 0 ? Math.round(done / seconds) : done,
    ...report,
  };
}
