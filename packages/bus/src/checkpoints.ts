import { type Kysely, sql } from 'kysely';
import type { GlobalCheckpoint } from '@trm/event-store';

export async function loadRelayCheckpoint(db: Kysely<any>, schema: string, relay: string): Promise<GlobalCheckpoint | undefined> {
  const { rows } = await sql<{ transaction_id: string; global_position: string }>`
    select transaction_id::text as transaction_id, global_position::text as global_position
    from ${sql.table(`${schema}.relay_checkpoints`)} where relay = ${relay}`.execute(db);
  const row = rows[0];
  return row && { transactionId: row.transaction_id, globalPosition: row.global_position };
}

/**
 * Never moves backwards: a relay that lost its lock mid-batch may still write after the new
 * leader has gone further, and going back would only republish (harmless) but look like lag.
 */
export async function saveRelayCheckpoint(db: Kysely<any>, schema: string, relay: string, at: GlobalCheckpoint): Promise<void> {
  const table = sql.table(`${schema}.relay_checkpoints`);
  await sql`
    insert into ${table} as c (relay, transaction_id, global_position, updated_at)
    values (${relay}, ${at.transactionId}::xid8, ${at.globalPosition}::bigint, now())
    on conflict (relay) do update
      set transaction_id = excluded.transaction_id, global_position = excluded.global_position, updated_at = excluded.updated_at
      where (c.transaction_id, c.global_position) < (excluded.transaction_id, excluded.global_position)`.execute(db);
}
