import type { Db } from '@trm/db';
import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { Bus } from '../src/bus.js';
import { startConsumer } from '../src/consumer.js';
import { type EventSource, sameDatabaseSource } from '../src/source.js';
import { SCHEMA } from './helpers.js';

/**
 * A consumer whose effect is a row per handled event in a table without a unique key, so any
 * effect applied twice shows up as a repeated event id.
 */
export async function recordingConsumer(
  db: Db,
  bus: Bus,
  name: string,
  opts: { concurrency?: number; batchSize?: number; metrics?: Registry; source?: EventSource | false; ackWaitMs?: number } = {},
) {
  await sql`create table if not exists ${sql.table(`${SCHEMA}.handled`)} (
    seq bigint generated always as identity, consumer text not null, event_id uuid not null, stream_id text not null, stream_version int not null)`.execute(db);
  const source = opts.source === false ? undefined : (opts.source ?? sameDatabaseSource(() => SCHEMA));
  const subscription = await startConsumer({
    db,
    schema: SCHEMA,
    name,
    bus,
    filterSubject: `${bus.subjectsPrefix}.referrals.>`,
    maxDeliver: 20,
    retryDelayMs: () => 100,
    concurrency: opts.concurrency,
    batchSize: opts.batchSize,
    metrics: opts.metrics,
    ...(opts.ackWaitMs ? { ackWaitMs: opts.ackWaitMs } : {}),
    ...(source ? { source } : {}),
    handle: async (tx, envelope) => {
      await sql`insert into ${sql.table(`${SCHEMA}.handled`)} (consumer, event_id, stream_id, stream_version)
        values (${name}, ${envelope.eventId}::uuid, ${envelope.streamId}, ${envelope.streamVersion})`.execute(tx);
    },
  });
  return {
    subscription,
    async handledCount(): Promise<number> {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`${SCHEMA}.handled`)} where consumer = ${name}`.execute(db);
      return rows[0]!.n;
    },
    /** Event ids handled more than once, and committed events never handled (or handled but never committed). */
    async check(): Promise<{ duplicates: number; missing: number; extra: number; handled: number; outOfOrder: number }> {
      const t = sql.table(`${SCHEMA}.handled`);
      const e = sql.table(`${SCHEMA}.events`);
      const { rows } = await sql<{ duplicates: number; missing: number; extra: number; handled: number; outOfOrder: number }>`
        select
          (select count(*)::int from (select stream_version, lag(stream_version) over (partition by stream_id order by seq) as before
             from ${t} where consumer = ${name}) o where before is not null and stream_version <> before + 1) as "outOfOrder",
          (select count(*)::int from (select event_id from ${t} where consumer = ${name} group by event_id having count(*) > 1) d) as duplicates,
          (select count(*)::int from ${e} where event_id not in (select event_id from ${t} where consumer = ${name})) as missing,
          (select count(*)::int from ${t} where consumer = ${name} and event_id not in (select event_id from ${e})) as extra,
          (select count(*)::int from ${t} where consumer = ${name}) as handled`.execute(db);
      return rows[0]!;
    },
  };
}
