import { type Kysely, sql } from 'kysely';
import type { GlobalCheckpoint } from '@trm/event-store';

export async function loadRelayCheckpoint(db: Kysely<any>, schema: string, relay: string): Promise<GlobalCheckpoint | undefined> {
  const { rows } = await sql<{ transaction_id: string; global_position: string }>`
    select transaction_id::text as transaction_id, global_position::text as global_position
    from ${sql.table(`${schema}.relay_checkpoints`)} where relay = ${relay}`.execute(db);
  const row = rows[0];
  return row && { transactionId: row.transaction_id, globalPosition: row.global_position };
}

/** The bus stream as the relay last published to it: its creation time and the highest sequence it was given. */
export interface StreamMark {
  created: string;
  seq: number;
}

export async function loadStreamMark(db: Kysely<any>, schema: string, relay: string): Promise<StreamMark | undefined> {
  const { rows } = await sql<{ stream_created: string | null; stream_seq: string | null }>`
    select stream_created, stream_seq::text as stream_seq
    from ${sql.table(`${schema}.relay_checkpoints`)} where relay = ${relay}`.execute(db);
  const row = rows[0];
  return row?.stream_created ? { created: row.stream_created, seq: Number(row.stream_seq ?? 0) } : undefined;
}

/**
 * Never moves backwards: a relay that lost its lease mid-batch may still write after the new
 * leader has gone further, and going back would only republish (harmless) but look like lag.
 * The stream mark moves with the checkpoint; a new stream (recreated) replaces the old mark.
 */
export async function saveRelayCheckpoint(db: Kysely<any>, schema: string, relay: string, at: GlobalCheckpoint, stream?: StreamMark): Promise<void> {
  const table = sql.table(`${schema}.relay_checkpoints`);
  await sql`
    insert into ${table} as c (relay, transaction_id, global_position, updated_at, stream_created, stream_seq)
    values (${relay}, ${at.transactionId}::xid8, ${at.globalPosition}::bigint, now(), ${stream?.created ?? null}, ${stream?.seq ?? null}::bigint)
    on conflict (relay) do update
      set transaction_id = excluded.transaction_id, global_position = excluded.global_position, updated_at = excluded.updated_at,
          stream_created = coalesce(excluded.stream_created, c.stream_created),
          stream_seq = case when excluded.stream_created is distinct from c.stream_created then excluded.stream_seq
                            else greatest(c.stream_seq, excluded.stream_seq) end
      where (c.transaction_id, c.global_position) < (excluded.transaction_id, excluded.global_position)`.execute(db);
}

/**
 * Back to the start of the log, on purpose (the bus lost events, or an operator asked): the only
 * way a checkpoint moves backwards. The stream mark is cleared; the next publish sets it anew.
 */
export async function resetRelayCheckpoint(db: Kysely<any>, schema: string, relay: string, to?: GlobalCheckpoint): Promise<void> {
  const table = sql.table(`${schema}.relay_checkpoints`);
  if (!to) {
    await sql`delete from ${table} where relay = ${relay}`.execute(db);
    return;
  }
  await sql`update ${table} set transaction_id = ${to.transactionId}::xid8, global_position = ${to.globalPosition}::bigint,
    stream_created = null, stream_seq = null, updated_at = now() where relay = ${relay}`.execute(db);
}
