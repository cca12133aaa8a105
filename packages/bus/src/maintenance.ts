import { type Kysely, sql } from 'kysely';

/**
 * Inbox rows older than `olderThan` go: duplicates are recognised by the consumers' stream
 * positions (consumer_streams), which are never pruned, so a message redelivered after its inbox
 * row is gone is still dropped. Returns how many rows were removed.
 */
export async function pruneInbox(db: Kysely<any>, schema: string, olderThan: Date, limit = 10_000): Promise<number> {
  const inbox = sql.table(`${schema}.inbox`);
  const { rows } = await sql<{ n: number }>`
    with gone as (
      delete from ${inbox} where ctid in (select ctid from ${inbox} where processed_at < ${olderThan.toISOString()}::timestamptz limit ${limit})
      returning 1)
    select count(*)::int as n from gone`.execute(db);
  return rows[0]?.n ?? 0;
}

/** Transactions per pg_xact segment file (32 pages of 32,768). */
const XACT_SEGMENT = 0x100000n;

export class TransactionIdsBehindError extends Error {
  override readonly name = 'TransactionIdsBehindError';
}

/**
 * After a logical dump and restore into another cluster, transaction ids start again below the
 * ones stored with the restored events and relay checkpoints: new events would sort before them
 * and relays, reading after their checkpoint, would never publish them. Refuses to start then,
 * and says what to do.
 */
export async function assertTransactionIdsAhead(db: Kysely<any>, schema: string): Promise<void> {
  const { rows } = await sql<{ current: string; stored: string | null }>`
    select pg_snapshot_xmax(pg_current_snapshot())::text as current,
      greatest((select max(transaction_id) from ${sql.table(`${schema}.relay_checkpoints`)}),
               (select max(transaction_id) from ${sql.table(`${schema}.events`)}))::text as stored`.execute(db);
  const row = rows[0];
  if (!row?.stored) return;
  const current = BigInt(row.current);
  const stored = BigInt(row.stored);
  if (current > stored) return;
  // pg_resetwal's next transaction id must start a pg_xact segment (a multiple of 1,048,576):
  // inside a segment the cluster does not have, the server cannot start ("could not access status
  // of transaction").
  let epoch = stored >> 32n;
  let xid = (((stored & 0xffffffffn) + XACT_SEGMENT) / XACT_SEGMENT) * XACT_SEGMENT;
  if (xid > 0xffffffffn) {
    epoch += 1n;
    xid = XACT_SEGMENT;
  }
  throw new TransactionIdsBehindError(
    [
      `Schema ${schema} holds events and relay checkpoints up to transaction id ${stored}, but this database is at ${current}:`,
      'it was restored from a logical dump into another cluster. New events would sort before the restored ones and never be published.',
      `Stop this PostgreSQL cluster, move its transaction ids past the restored ones, and start it again:`,
      `  pg_resetwal --epoch=${epoch} --next-transaction-id=${xid} <data directory>`,
      '(or restore with a physical backup, which keeps the ids). Then start the service again.',
    ].join('\n'),
  );
}
