import type { GlobalCheckpoint } from '@trm/event-store';
import { START_OF_LOG } from '@trm/event-store';
import { type Kysely, sql } from 'kysely';

/**
 * The honest "complete up to" of a consumer for one source service: the position in the source's
 * global order (transaction id, position) such that every committed event at or before it has
 * been applied by the consumer (its stream position has reached that event's version). Events
 * are applied out of global order (retries, replicas, a lagging relay), so "events applied" or
 * "the last position seen" would claim events that are still missing; this walks the source's
 * log forward from the last mark, under the visibility horizon, and stops at the first event not
 * yet applied. Incremental: each call reads only what was committed since.
 */
export async function advanceCompleteMark(
  db: Kysely<any>,
  opts: { schema: string; consumer: string; source: string; sourceSchema?: string; pageSize?: number },
): Promise<GlobalCheckpoint> {
  const marks = sql.table(`${opts.schema}.consumer_watermarks`);
  const streams = sql.table(`${opts.schema}.consumer_streams`);
  const events = sql.table(`${opts.sourceSchema ?? opts.source}.events`);
  const pageSize = opts.pageSize ?? 5_000;
  const { rows: stored } = await sql<{ transaction_id: string; global_position: string }>`
    select transaction_id::text as transaction_id, global_position::text as global_position
    from ${marks} where consumer = ${opts.consumer} and source = ${opts.source}`.execute(db);
  const start: GlobalCheckpoint = stored[0] ? { transactionId: stored[0].transaction_id, globalPosition: stored[0].global_position } : START_OF_LOG;
  let mark = start;
  for (;;) {
    const { rows } = await sql<{ transaction_id: string; global_position: string; applied: boolean }>`
      select e.transaction_id::text as transaction_id, e.global_position::text as global_position,
        coalesce(c.version >= e.stream_version, false) as applied
      from ${events} e
      left join ${streams} c on c.consumer = ${opts.consumer} and c.source = ${opts.source} and c.stream_id = e.stream_id
      where (e.transaction_id, e.global_position) > (${mark.transactionId}::xid8, ${mark.globalPosition}::bigint)
        and e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      order by e.transaction_id, e.global_position
      limit ${pageSize}`.execute(db);
    let stopped = false;
    for (const r of rows) {
      if (!r.applied) {
        stopped = true;
        break;
      }
      mark = { transactionId: r.transaction_id, globalPosition: r.global_position };
    }
    if (stopped || rows.length < pageSize) break;
  }
  if (mark !== start) {
    await sql`insert into ${marks} as m (consumer, source, transaction_id, global_position, updated_at)
      values (${opts.consumer}, ${opts.source}, ${mark.transactionId}::xid8, ${mark.globalPosition}::bigint, now())
      on conflict (consumer, source) do update set transaction_id = excluded.transaction_id, global_position = excluded.global_position, updated_at = now()
      where (m.transaction_id, m.global_position) < (excluded.transaction_id, excluded.global_position)`.execute(db);
  }
  return mark;
}
